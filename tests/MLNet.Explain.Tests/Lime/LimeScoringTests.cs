using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Lime;

namespace MLNet.Explain.Tests.Lime;

/// <summary>The slot path scores tree ensembles from their trees directly, with exactly ML.NET's numbers.</summary>
[TestClass]
public sealed class LimeScoringTests
{
    [TestMethod]
    public void TreeEnsemblesAreScoredDirectlyWithMLNetsExactOutputs()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var concat = ml.Transforms.Concatenate("Features", features);
        var models = new (string Name, ITransformer Model)[]
        {
            ("FastTree binary (calibrated)", concat.Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 20)).Fit(data)),
            ("LightGBM binary", concat.Append(ml.BinaryClassification.Trainers.LightGbm(labelColumnName: label, numberOfIterations: 20)).Fit(data)),
            ("FastTree regression on the label as a number", ml.Transforms.Conversion.ConvertType("Target", label, DataKind.Single)
                .Append(concat).Append(ml.Regression.Trainers.FastTree(labelColumnName: "Target", numberOfTrees: 20)).Fit(data)),
        };
        foreach (var (name, model) in models)
        {
            var lime = ml.Explain().Lime(new LimeOptions { NumberOfSamples = 500, Seed = 2 }).Fit(model, data);
            var parts = ModelParts.Of(model, data.Schema);
            var scoring = new SlotScoring(lime.State, parts);
            Assert.IsTrue(scoring.ScoresTreesDirectly, $"{name}: direct tree path");

            var sampler = new TabularSampler(lime.State);
            var rows = model.Transform(ml.Data.TakeRows(data, 3)).GetColumn<float[]>("Features")
                .Select(f => (object)f).ToList();
            // 499 samples per row: the batched tree walk handles rows four at a time, so 1,497 rows also test the remainder.
            var batch = new List<(object Row, double[] Values)>();
            var matrix = new List<float>();
            foreach (float[] row in rows)
            {
                var instance = new TabularInstance(row.Select(v => (double)v).ToArray(), row.Select((v, j) => lime.State.Features[j].BinOf(v)).ToArray(), new int[row.Length]);
                var values = new double[499 * row.Length];
                sampler.Sample(instance, RowRandom.For(1, row), new double[499 * row.Length], values, new double[499]);
                batch.Add((row, values));
                matrix.AddRange(values.Select(v => (float)v));
            }
            var direct = new float[1497];
            scoring.Score(batch, 499, direct);
            var throughMLNet = new float[1497];
            new FeatureScorer(parts, ScoreOutput.Probability).Score(matrix.ToArray(), throughMLNet);
            CollectionAssert.AreEqual(throughMLNet, direct, name);
        }
    }
}
