using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>
/// Local accuracy of TreeSHAP on every test row: base value + Σ SHAP values = the model's own output, read from the
/// Score column ML.NET computes (not from our tree evaluation).
/// </summary>
[TestClass]
public sealed class TreeShapAdditivityTests
{
    private static void AssertAdditiveOnScore(ShapTransformer shap, IDataView test, Func<float, double> explainedOfScore)
    {
        Assert.AreEqual(ShapAlgorithmKind.Tree, shap.Algorithm);
        var rows = Rows(shap, test);
        Assert.IsTrue(rows.Count > 30, "the test split has rows");
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            double sum = row.Base + row.Values.Sum(v => (double)v);
            AssertAdditive(explainedOfScore(row.Score), sum, $"row {r}");
            AssertAdditive(row.Output, sum, $"row {r} ShapOutput");
        }
    }

    [TestMethod]
    public void FastTreeBinaryValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 30, numberOfLeaves: 12));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void FastForestBinaryValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastForest(split.Label, numberOfTrees: 20, numberOfLeaves: 12));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void LightGbmBinaryValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 12, numberOfIterations: 30));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void ProbabilityOfPlattCalibratedTreesAddsUpToItsLogitExactly()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        foreach (var trainer in new IEstimator<ITransformer>[]
        {
            ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 30, numberOfLeaves: 12),
            ml.BinaryClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 12, numberOfIterations: 30),
        })
        {
            var model = Fit(ml, split, trainer);
            var shap = ml.Explain().Shap(new ShapOptions { Output = ShapOutput.Probability, Link = ShapLink.Logit }).Fit(model, split.Train);
            Assert.AreEqual(ShapAlgorithmKind.Tree, shap.Algorithm, "the logit of a Platt probability is affine in the margin");
            Assert.AreEqual("logit(Probability)", shap.ExplainedOutput);
            var output = shap.Transform(split.Test);
            var probabilities = output.GetColumn<float>("Probability").ToList();
            var rows = Rows(shap, split.Test);
            int compared = 0;
            for (int r = 0; r < rows.Count; r++)
            {
                double sum = rows[r].Base + rows[r].Values.Sum(v => (double)v);
                AssertAdditive(rows[r].Output, sum, $"row {r} ShapOutput");
                // A float probability within 1e-3 of 0 or 1 no longer pins its logit down to the tolerance.
                double p = probabilities[r];
                if (Math.Min(p, 1 - p) < 1e-3) continue;
                AssertAdditive(Math.Log(p / (1 - p)), sum, $"row {r} logit(Probability)");
                compared++;
            }
            Assert.IsTrue(compared > 10, $"{compared} rows with a probability away from 0 and 1");
        }
    }

    [TestMethod]
    public void FastTreeRegressionValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 30, numberOfLeaves: 12));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void FastForestRegressionValuesAddUpToTheAveragedScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastForest(split.Label, numberOfTrees: 20, numberOfLeaves: 12));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void TweedieValuesAddUpToTheLogOfTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTreeTweedie(split.Label, numberOfTrees: 30, numberOfLeaves: 12));
        var shap = ml.Explain().Shap().Fit(model, split.Train);
        Assert.AreEqual("log(Score)", shap.ExplainedOutput);
        AssertAdditiveOnScore(shap, split.Test, score => Math.Log(score));
    }

    [TestMethod]
    public void LightGbmRegressionValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.LightGbm(split.Label, numberOfLeaves: 12, numberOfIterations: 30));
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void FastTreeRankingValuesAddUpToTheScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var train = ml.Transforms.Conversion.MapValueToKey("Group", "Sex")
            .Append(ml.Transforms.CustomMapping<Relevance, RelevanceLabel>((i, o) => o.Relevance = Math.Min(4f, MathF.Floor(i.Progression / 70f)), null))
            .Append(ml.Transforms.Concatenate("Features", split.Features))
            .Append(ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
            {
                LabelColumnName = "Relevance", RowGroupColumnName = "Group", NumberOfTrees = 20, NumberOfLeaves = 8,
            }));
        var model = train.Fit(split.Train);
        AssertAdditiveOnScore(ml.Explain().Shap().Fit(model, split.Train), split.Test, score => score);
    }

    [TestMethod]
    public void LightGbmMulticlassValuesAddUpToEachClassMarginBehindTheScores()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = Fit(ml, split, ml.MulticlassClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 6, numberOfIterations: 20), keyLabel: true);
        var shap = ml.Explain().Shap(new ShapOptions { AllClasses = true }).Fit(model, split.Train);
        CollectionAssert.AreEqual(new[] { "class_0", "class_1", "class_2" }, shap.ClassNames.ToArray());

        var output = shap.Transform(split.Test);
        var all = output.GetColumn<float[]>(ShapTransformer.AllValuesColumn).ToList();
        var bases = output.GetColumn<float[]>(ShapTransformer.AllBaseValuesColumn).ToList();
        var values = output.GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
        var explainedClass = output.GetColumn<string>(ShapTransformer.ClassColumn).ToList();
        var predicted = output.GetColumn<uint>("PredictedLabel").ToList();
        var scores = output.GetColumn<float[]>("Score").ToList();
        var ensemble = ((PathDependentTreeShap)shap.State.Method).Ensemble;
        int m = split.Features.Length;
        for (int r = 0; r < all.Count; r++)
        {
            // The margins rebuilt from the SHAP values go through ML.NET's calibrators and normalization to its Score.
            var margins = Enumerable.Range(0, 3).Select(k => bases[r][k] + all[r].Skip(k * m).Take(m).Sum(v => (double)v)).ToArray();
            var rebuilt = new double[3];
            ensemble.Link.Scores(margins, rebuilt);
            for (int k = 0; k < 3; k++)
                AssertAdditive(scores[r][k], rebuilt[k], $"row {r} class {k} score from margins");
            int c = shap.ClassNames.ToList().IndexOf(explainedClass[r]);
            Assert.AreEqual((int)predicted[r] - 1, c, "ShapValues explains the predicted class by default");
            CollectionAssert.AreEqual(all[r].Skip(c * m).Take(m).ToArray(), values[r]);
        }
    }

    private sealed class Relevance { public float Progression { get; set; } }
    private sealed class RelevanceLabel { public float Relevance { get; set; } }
}
