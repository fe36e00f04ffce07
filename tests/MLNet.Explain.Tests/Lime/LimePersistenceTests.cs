using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.Lime;

/// <summary>A saved and reloaded LIME stage explains every row exactly as the fitted one.</summary>
[TestClass]
public sealed class LimePersistenceTests
{
    [TestMethod]
    public void FeatureSlotStageRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        var lime = ml.Explain().Lime(new LimeOptions { NumberOfSamples = 300, CategoricalFeatures = ["MeanRadius"], Seed = 5 }).Fit(model, data);
        AssertSameExplanations(ml, lime, data, ml.Data.TakeRows(data, 4), "LimeWeights");
    }

    [TestMethod]
    public void RawColumnStageWithGroupsAndDiscretizationOffRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, features) = TestData.BreastCancerFastTree(ml, trees: 5);
        var options = new LimeOptions
        {
            NumberOfSamples = 300, Discretize = false, Seed = 5, Class = "False", FeatureSelection = LimeFeatureSelection.LassoPath,
            Columns = features[..4], Groups = new Dictionary<string, string[]> { ["Worst"] = features[20..] },
        };
        var lime = ml.Explain().Lime(options).Fit(model, data);
        AssertSameExplanations(ml, lime, data, ml.Data.TakeRows(data, 4), "LimeWeights");
    }

    [TestMethod]
    public void TextStageRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { "good film", "bad film", "good cast", "bad plot", "good good", "bad day" }
            .Select(t => new Review { Text = t, Label = t.StartsWith("good", StringComparison.Ordinal) }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Text.FeaturizeText("Features", "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression()).Fit(data);
        var lime = ml.Explain().Lime(new LimeOptions { TextColumn = "Text", NumberOfSamples = 100, TextPerturbation = LimeTextPerturbation.Positional, Seed = 5 })
            .Fit(model, data);
        AssertSameExplanations(ml, lime, data, data, "LimeWordWeights");
    }

    private static void AssertSameExplanations(MLContext ml, LimeTransformer lime, IDataView data, IDataView rows, string weightsColumn)
    {
        using var stream = new MemoryStream();
        ml.Model.Save(lime, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext(seed: 99).Model.Load(stream, out _);

        var reloaded = Assert.IsInstanceOfType<LimeTransformer>(loaded);
        Assert.AreEqual(lime.State.Seed, reloaded.State.Seed);
        var expected = lime.Transform(rows);
        var actual = loaded.Transform(rows);
        Assert.AreEqual(expected.Schema[weightsColumn].Type, actual.Schema[weightsColumn].Type);
        var expectedWeights = expected.GetColumn<float[]>(weightsColumn).ToArray();
        var actualWeights = actual.GetColumn<float[]>(weightsColumn).ToArray();
        Assert.HasCount(expectedWeights.Length, actualWeights);
        for (int r = 0; r < expectedWeights.Length; r++)
            CollectionAssert.AreEqual(expectedWeights[r], actualWeights[r], $"row {r}");
        CollectionAssert.AreEqual(expected.GetColumn<float>("LimeScore").ToArray(), actual.GetColumn<float>("LimeScore").ToArray());
        if (expected.Schema.GetColumnOrNull("LimeWeights") is { } column)
        {
            VBuffer<ReadOnlyMemory<char>> before = default, after = default;
            column.Annotations.GetValue("SlotNames", ref before);
            actual.Schema["LimeWeights"].Annotations.GetValue("SlotNames", ref after);
            CollectionAssert.AreEqual(before.DenseValues().Select(n => n.ToString()).ToArray(), after.DenseValues().Select(n => n.ToString()).ToArray());
        }
    }

    private sealed class Review
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
    }
}
