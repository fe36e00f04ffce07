using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace MLNet.Explain.Tests.Lime;

[TestClass]
public sealed class LimeTabularTests
{
    /// <summary>
    /// Known answer. Without discretization LIME samples each feature from N(mean, std²) of the training data and
    /// fits the surrogate on standardized values (z = (x − mean)/std), so on a model that is linear in its features,
    /// f = b + Σ cⱼ xⱼ = const + Σ (cⱼ stdⱼ) zⱼ, the surrogate is exact and its weights are cⱼ·stdⱼ (up to the ridge's
    /// shrinkage, about α/Σw ≈ 1e-3 here). On standardized features (std 1) the weights are the coefficients.
    /// </summary>
    [TestMethod]
    public void WeightsMatchTheCoefficientsOfALinearRegressionOnStandardizedFeatures()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "diabetes.csv", DataKind.Single);
        // Each raw column standardized in place (the model reads the raw values and replaces them), then concatenated.
        var model = ml.Transforms.NormalizeMeanVariance(features.Select(f => new InputOutputColumnPair(f)).ToArray(), fixZero: false)
            .Append(ml.Transforms.Concatenate("Features", features))
            .Append(ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                LabelColumnName = label, L2Regularization = 1e-4f, L1Regularization = 0, MaximumNumberOfIterations = 200, NumberOfThreads = 1,
            }))
            .Fit(data);
        var coefficients = ((RegressionPredictionTransformer<LinearRegressionModelParameters>)model.LastTransformer).Model.Weights.ToArray();

        var lime = ml.Explain().Lime(new LimeOptions { Discretize = false, Seed = 7 }).Fit(model, data);
        var slotStd = lime.State.Features.Select(f => f.Std).ToArray();
        var rows = ml.Data.TakeRows(lime.Transform(data), 5);
        foreach (var (weights, score) in rows.GetColumn<float[]>("LimeWeights").Zip(rows.GetColumn<float>("LimeScore")))
        {
            Assert.AreEqual(1, score, 1e-4, "a linear model is its own surrogate");
            AssertMatches(coefficients, weights, slotStd);
        }

        // The same model explained through its raw columns, which it normalizes in place (LIME reads the values that
        // entered the model): weights are cⱼ·stdⱼ(raw)/scaleⱼ(normalizer) = cⱼ again.
        var raw = ml.Explain().Lime(new LimeOptions { Discretize = false, Seed = 7, Columns = features }).Fit(model, data);
        var rawRows = ml.Data.TakeRows(raw.Transform(data), 3);
        foreach (var weights in rawRows.GetColumn<float[]>("LimeWeights"))
            AssertMatches(coefficients, weights, Enumerable.Repeat(1.0, features.Length).ToArray());
    }

    private static void AssertMatches(float[] coefficients, float[] weights, double[] std)
    {
        Assert.HasCount(coefficients.Length, weights);
        for (int j = 0; j < coefficients.Length; j++)
        {
            Assert.AreEqual(Math.Sign(coefficients[j]), Math.Sign(weights[j]), $"sign of feature {j}");
            Assert.AreEqual(coefficients[j], weights[j], 0.05 * Math.Abs(coefficients[j]), $"feature {j}: within 5% of the coefficient");
            Assert.AreEqual(coefficients[j] * std[j], weights[j], 0.005 * Math.Abs(coefficients[j] * std[j]), $"feature {j}: coefficient x std");
        }
        CollectionAssert.AreEqual(Rank(coefficients), Rank(weights), "same ranking by magnitude");
    }

    private static int[] Rank(float[] values) => Enumerable.Range(0, values.Length).OrderByDescending(j => Math.Abs(values[j])).ToArray();

    [TestMethod]
    public void ARowGetsTheSameExplanationTwiceAndInAnyBatchOrPosition()
    {
        var ml = new MLContext(seed: 1);
        var (data, model) = BreastCancerVectorFastTree(ml, trees: 20);
        var lime = ml.Explain().Lime(new LimeOptions { Seed = 3 }).Fit(model, data);

        var first = ExplainRows(lime, ml.Data.TakeRows(data, 6));
        var again = ExplainRows(lime, ml.Data.TakeRows(data, 6));
        var shifted = ExplainRows(lime, ml.Data.TakeRows(ml.Data.SkipRows(data, 3), 3));
        for (int r = 0; r < 6; r++)
            CollectionAssert.AreEqual(first[r].Weights, again[r].Weights, $"row {r} explained twice");
        for (int r = 0; r < 3; r++)
        {
            CollectionAssert.AreEqual(first[r + 3].Weights, shifted[r].Weights, $"row {r + 3} at position {r} of another batch");
            Assert.AreEqual(first[r + 3].Score, shifted[r].Score);
        }

        // One row at a time through a PredictionEngine (the row-to-row path) gives the block path's answer.
        var engine = ml.Model.CreatePredictionEngine<BreastCancerRow, LimeOutput>(lime, ignoreMissingColumns: true);
        var row = ml.Data.CreateEnumerable<BreastCancerRow>(ml.Data.TakeRows(ml.Data.SkipRows(data, 4), 1), reuseRowObject: false).Single();
        CollectionAssert.AreEqual(first[4].Weights, engine.Predict(row).LimeWeights);

        foreach (var (weights, score) in first)
        {
            Assert.IsTrue(score is >= 0 and <= 1, $"weighted R² {score}");
            Assert.AreEqual(10, weights.Count(w => w != 0), "10 features selected by default");
            Assert.IsTrue(weights.All(float.IsFinite));
        }
    }

    private static (float[] Weights, float Score)[] ExplainRows(ITransformer lime, IDataView rows)
    {
        var output = lime.Transform(rows);
        return output.GetColumn<float[]>("LimeWeights").Zip(output.GetColumn<float>("LimeScore")).ToArray();
    }

    [TestMethod]
    public void PredictedClassIsExplainedByDefaultAndAChosenClassOnRequest()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "iris.csv", DataKind.String);
        var model = ml.Transforms.Conversion.MapValueToKey(label)
            .Append(ml.Transforms.Concatenate("Features", features))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(label))
            .Fit(data);
        var options = new LimeOptions { Seed = 2, NumberOfSamples = 1000, NumberOfFeatures = 2 };
        var setosa = ml.Data.TakeRows(ml.Data.SkipRows(data, 45), 5);
        var virginica = ml.Data.TakeRows(ml.Data.SkipRows(data, 145), 5);
        var rows = ml.Data.LoadFromEnumerable(
            ml.Data.CreateEnumerable<IrisRow>(setosa, false).Concat(ml.Data.CreateEnumerable<IrisRow>(virginica, false)).ToList());
        var predicted = ml.Explain().Lime(options).Fit(model, data).Transform(rows);
        var classes = predicted.GetColumn<string>("LimeClass").ToArray();
        var species = rows.GetColumn<string>(label).ToArray();
        CollectionAssert.AreEqual(species, classes, "the model predicts these rows right, so the explained class is the species");
        Assert.IsTrue(predicted.GetColumn<float[]>("LimeWeights").All(w => w.Count(v => v != 0) <= 2), "forward selection of 2 features");

        options.Class = "virginica";
        var chosen = ml.Explain().Lime(options).Fit(model, data).Transform(rows);
        Assert.IsTrue(chosen.GetColumn<string>("LimeClass").All(c => c == "virginica"));
        // Large petals make "virginica": staying in its own petal-length quartile lowers the probability of a setosa
        // (small petals) and raises that of a virginica.
        var petalLength = Array.IndexOf(features, "PetalLength");
        var weights = chosen.GetColumn<float[]>("LimeWeights").Select(w => w[petalLength]).ToArray();
        Assert.IsTrue(weights.Take(5).All(w => w <= 0) && weights.Skip(5).All(w => w >= 0) && weights.Any(w => w != 0), string.Join(", ", weights));

        options.Class = "daisy";
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Lime(options).Fit(model, data));
        StringAssert.Contains(e.Message, "setosa, versicolor, virginica");
    }

    [TestMethod]
    public void StageAppendsToAPipelineAndNamesItsColumns()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var fitted = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 10))
            .Append(ml.Explain().Lime(new LimeOptions { NumberOfSamples = 500, WeightsColumnName = "W", ScoreColumnName = "Fidelity", Seed = 1 }))
            .Fit(data);
        var output = fitted.Transform(ml.Data.TakeRows(data, 3));
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 30), output.Schema["W"].Type);
        var names = new VBuffer<ReadOnlyMemory<char>>();
        output.Schema["W"].Annotations.GetValue("SlotNames", ref names);
        CollectionAssert.AreEqual(features, names.DenseValues().Select(n => n.ToString()).ToArray(), "weights are named by the feature slots");
        Assert.HasCount(3, output.GetColumn<float>("Fidelity").ToArray());
        Assert.HasCount(3, output.GetColumn<float>("LimeLocalPrediction").ToArray());
        var explainedProbability = output.GetColumn<string>("LimeClass").Zip(output.GetColumn<float>("Probability"),
            (c, p) => c == "True" ? p : 1 - p).ToArray();
        Assert.IsTrue(explainedProbability.All(p => p >= 0.5), "the predicted class is the more probable one");
    }

    [TestMethod]
    public void RawColumnsAndGroupsAreExplainedThroughTheWholeModel()
    {
        // y = 3·[City = A] + 2·x + u − v: a categorical text column, a numeric column and a group, fit by trees on a
        // one-hot city (an unseen city encodes as "not A", like B and C).
        var ml = new MLContext(seed: 1);
        var random = new Random(5);
        var rows = Enumerable.Range(0, 400).Select(i => new CityRow
        {
            City = (i % 4) switch { 0 => "A", 1 => "B", _ => "C" },
            X = (float)random.NextDouble() * 4,
            U = (float)random.NextDouble(),
            V = (float)random.NextDouble(),
        }).ToList();
        foreach (var row in rows) row.Y = (row.City == "A" ? 3 : 0) + 2 * row.X + row.U - row.V;
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Categorical.OneHotEncoding("CityVector", "City")
            .Append(ml.Transforms.Concatenate("Features", "CityVector", "X", "U", "V"))
            .Append(ml.Regression.Trainers.FastTree(labelColumnName: "Y", numberOfTrees: 50, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5))
            .Fit(data);
        var options = new LimeOptions
        {
            Columns = ["City", "X"],
            Groups = new Dictionary<string, string[]> { ["UV"] = ["U", "V"] },
            NumberOfSamples = 2000,
            Seed = 4,
        };
        var lime = ml.Explain().Lime(options).Fit(model, data);
        CollectionAssert.AreEqual(new[] { "City", "X", "UV" }, lime.State.Features.Select(f => f.Name).ToArray());
        CollectionAssert.AreEqual(new[] { LimeFeatureKind.Categorical, LimeFeatureKind.Continuous, LimeFeatureKind.Group },
            lime.State.Features.Select(f => f.Kind).ToArray());
        CollectionAssert.AreEqual(new object[] { "A", "B", "C" }, lime.State.Features[0].Categories.ToArray());
        Assert.AreEqual(0.25, lime.State.Features[0].CategoryFrequencies[0], 1e-9);

        var explained = new List<CityRow>
        {
            new() { City = "A", X = 3.5f, U = 0.95f, V = 0.05f },
            new() { City = "Atlantis", X = 3.5f, U = 0.5f, V = 0.5f }, // a category unseen at Fit
        };
        var output = lime.Transform(ml.Data.LoadFromEnumerable(explained));
        var weights = output.GetColumn<float[]>("LimeWeights").ToArray();
        // Row in city A: leaving A costs 3 with probability 0.75, so "same city" carries a clearly positive weight;
        // X is in the top quartile, which pays off 2·(3.5 − 1.5) on average.
        Assert.IsTrue(weights[0][0] > 1, $"City weight {weights[0][0]}");
        Assert.IsTrue(weights[0][1] > 1, $"X weight {weights[0][1]}");
        // Unseen city: every sample replaces it by a training city (A with probability 1/4, +3), so keeping it is
        // negative; the ridge shrinks it because only the row itself keeps the unseen value.
        Assert.IsTrue(weights[1][0] < 0, $"unseen City weight {weights[1][0]}");
        // The group is kept or replaced as a whole: keeping u − v = 0.9 instead of a training row's (0 on average)
        // is worth about 0.9.
        Assert.IsTrue(weights[0][2] is > 0.5f and < 1.3f, $"UV weight {weights[0][2]}");
        Assert.IsTrue(weights.SelectMany(w => w).All(float.IsFinite));
    }

    [TestMethod]
    public void BadInputFailsWithAClearMessage()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);

        var samples = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Explain().Lime(new LimeOptions { NumberOfSamples = 1 }));
        StringAssert.Contains(samples.Message, "at least 2 samples");

        var column = Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Lime(new LimeOptions { Columns = ["Radius"] }).Fit(model, data));
        StringAssert.Contains(column.Message, "'Radius' is not in the data");

        var text = Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Lime(new LimeOptions { TextColumn = "Review" }).Fit(model, data));
        StringAssert.Contains(text.Message, "'Review' is not in the data");

        var notText = Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Lime(new LimeOptions { TextColumn = "MeanRadius" }).Fit(model, data));
        StringAssert.Contains(notText.Message, "scalar text column");

        var noFeatures = ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } });
        var features = Assert.Throws<ArgumentException>(() => ml.Explain().Lime().Fit(model, noFeatures));
        StringAssert.Contains(features.Message, "MeanRadius");

    }

    [TestMethod]
    public void MissingValuesInARowToExplainThrowOrAreImputedAsDocumented()
    {
        var ml = new MLContext(seed: 1);
        var (data, model) = BreastCancerVectorFastTree(ml, trees: 5);
        var row = ml.Data.CreateEnumerable<BreastCancerRow>(ml.Data.TakeRows(data, 1), reuseRowObject: false).Single();
        row.Features[2] = float.NaN;
        var withNaN = ml.Data.LoadFromEnumerable([row]);

        var strict = ml.Explain().Lime(new LimeOptions { NumberOfSamples = 200, Seed = 1 }).Fit(model, data);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => strict.Transform(withNaN).GetColumn<float[]>("LimeWeights").ToArray());
        StringAssert.Contains(e.Message, "slot 'Slot 2' (slot 2) of column 'Features'");
        StringAssert.Contains(e.Message, "ImputeMean");

        var imputing = ml.Explain().Lime(new LimeOptions { NumberOfSamples = 200, Seed = 1, MissingValues = LimeMissingValues.ImputeMean }).Fit(model, data);
        var weights = imputing.Transform(withNaN).GetColumn<float[]>("LimeWeights").Single();
        Assert.IsTrue(weights.All(float.IsFinite));

        row.Features[2] = (float)imputing.State.Features[2].Mean;
        var imputedByHand = ml.Data.LoadFromEnumerable([row]);
        var expected = imputing.Transform(imputedByHand).GetColumn<float>("LimeLocalPrediction").Single();
        Assert.AreEqual(expected, imputing.Transform(withNaN).GetColumn<float>("LimeLocalPrediction").Single(), 0.05,
            "the imputed row is explained like the row with the mean filled in");
    }

    /// <summary>Breast cancer loaded as one 30-slot "Features" vector (slot names from the header) and a FastTree on it.</summary>
    private static (IDataView Data, ITransformer Model) BreastCancerVectorFastTree(MLContext ml, int trees)
    {
        var data = ml.Data.LoadFromTextFile<BreastCancerRow>(TestData.PathOf("breast_cancer.csv"), separatorChar: ',', hasHeader: true);
        var model = ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Malignant", numberOfTrees: trees, numberOfLeaves: 8).Fit(data);
        return (data, model);
    }

    private sealed class BreastCancerRow
    {
        [LoadColumn(0, 29), VectorType(30)]
        public float[] Features { get; set; } = [];

        [LoadColumn(30)]
        public bool Malignant { get; set; }
    }

    private sealed class LimeOutput
    {
        public float[] LimeWeights { get; set; } = [];
    }

    private sealed class IrisRow
    {
        public float SepalLength { get; set; }
        public float SepalWidth { get; set; }
        public float PetalLength { get; set; }
        public float PetalWidth { get; set; }
        public string Species { get; set; } = "";
    }

    private sealed class CityRow
    {
        public string City { get; set; } = "";
        public float X { get; set; }
        public float U { get; set; }
        public float V { get; set; }
        public float Y { get; set; }
    }
}
