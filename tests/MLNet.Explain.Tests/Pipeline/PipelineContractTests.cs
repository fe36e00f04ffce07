using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Tests.Pipeline;

/// <summary>
/// The pipeline contract every explanation stage relies on, checked with a minimal stage (<see cref="ScaledFeaturesStage"/>)
/// whose attributions are known: each feature times the stage's factor.
/// </summary>
[TestClass]
public sealed class PipelineContractTests
{
    [TestMethod]
    public void AppendedStageFitsThePipelineThenExplainsTheFittedModel()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var pipeline = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 10))
            .Append(new ScaledFeaturesStage(2f));

        ScaledFeaturesTransformer fitted = pipeline.Fit(data);
        var output = fitted.Transform(data);

        Assert.IsNotNull(output.Schema.GetColumnOrNull("Score"), "model columns pass through");
        Assert.IsNotNull(output.Schema.GetColumnOrNull("PredictedLabel"));
        var attributions = output.Schema["Scaled"];
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 30), attributions.Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        attributions.Annotations.GetValue(SlotNames.SlotNamesKind, ref names);
        CollectionAssert.AreEqual(features, names.DenseValues().Select(n => n.ToString()).ToArray());

        var featureRows = output.GetColumn<float[]>("Features").ToList();
        var scaledRows = output.GetColumn<float[]>("Scaled").ToList();
        Assert.AreEqual(569, scaledRows.Count, "every input row gets its output row");
        for (int r = 0; r < featureRows.Count; r++)
            CollectionAssert.AreEqual(featureRows[r].Select(v => 2 * v).ToArray(), scaledRows[r], $"row {r} in order");
    }

    [TestMethod]
    public void StageFitsAgainstAnAlreadyTrainedModel()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var fitted = new ScaledFeaturesStage(3f).Fit(model, data);
        Assert.AreSame(model, fitted.Model);
        var first = fitted.Transform(data).GetColumn<float[]>("Scaled").First();
        var features = model.Transform(data).GetColumn<float[]>("Features").First();
        Assert.AreEqual(3 * features[0], first[0], 1e-6);
    }

    [TestMethod]
    public void OutputIsLazyAndComputesOnlyRowsThatAreRead()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var fitted = new ScaledFeaturesStage(1f).Fit(model, data);
        var output = fitted.Transform(data);
        Assert.AreEqual(0, fitted.RowsExplained, "Transform alone explains nothing");
        var firstTen = output.GetColumn<float[]>("Scaled").Take(10).ToList();
        Assert.AreEqual(10, firstTen.Count);
        Assert.IsTrue(fitted.RowsExplained <= ScaledFeaturesStage.Block, $"explained {fitted.RowsExplained} rows to read 10");
        _ = output.GetColumn<float>("Score").ToList();
        Assert.IsTrue(fitted.RowsExplained <= ScaledFeaturesStage.Block, "reading model columns only does not explain");
    }

    [TestMethod]
    public void PredictionEngineServesAttributions()
    {
        var ml = new MLContext(seed: 1);
        var rows = File.ReadLines(TestData.PathOf("breast_cancer.csv")).Skip(1).Select(line => line.Split(','))
            .Select(cells => new Input { Features = cells[..^1].Select(float.Parse).ToArray(), Label = bool.Parse(cells[^1]) })
            .ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 10).Fit(data);
        var fitted = new ScaledFeaturesStage(2f).Fit(model, data);
        var engine = ml.Model.CreatePredictionEngine<Input, Output>(fitted);

        var a = engine.Predict(rows[0]);
        var b = engine.Predict(rows[1]);
        CollectionAssert.AreEqual(rows[0].Features.Select(v => 2 * v).ToArray(), a.Scaled);
        CollectionAssert.AreEqual(rows[1].Features.Select(v => 2 * v).ToArray(), b.Scaled, "a reused engine explains each new row");
        Assert.AreEqual(model.Transform(data).GetColumn<float>("Score").First(), a.Score, 1e-6, "predictions pass through");
    }

    [TestMethod]
    public void DuplicateAndEmptySlotNamesAreDisambiguated()
    {
        var unique = SlotNames.MakeUnique(["Age", "", "Age", "Income", null]);
        CollectionAssert.AreEqual(new[] { "Age (Slot 0)", "Slot 1", "Age (Slot 2)", "Income", "Slot 4" }, unique.ToArray());
    }

    [TestMethod]
    public void ModelWithoutPredictorIsRejectedByName()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, _) = TestData.BreastCancer(ml);
        var featurizerOnly = ml.Transforms.Concatenate("Features", features).Fit(data);
        var error = Assert.ThrowsExactly<ArgumentException>(() => new ScaledFeaturesStage(1f).Fit(featurizerOnly, data));
        StringAssert.Contains(error.Message, "no predictor");
    }

    private sealed class Input
    {
        [VectorType(30)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class Output
    {
        public float Score { get; set; }

        public float[] Scaled { get; set; } = [];
    }
}
