using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>A fitted SHAP stage saved with mlContext.Model.Save loads in a fresh context with identical outputs.</summary>
[TestClass]
public sealed class ShapPersistenceTests
{
    private static ShapTransformer SaveAndLoad(ShapTransformer stage, IDataView data)
    {
        var path = Path.Combine(Path.GetTempPath(), $"shap-{Guid.NewGuid():N}.zip");
        try
        {
            new MLContext(seed: 1).Model.Save(stage, data.Schema, path);
            var fresh = new MLContext(seed: 5);
            fresh.Explain();
            return Assert.IsInstanceOfType<ShapTransformer>(fresh.Model.Load(path, out _));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSameColumns(IDataView expected, IDataView actual, params string[] columns)
    {
        foreach (var column in columns)
        {
            var a = expected.GetColumn<float[]>(column).ToList();
            var b = actual.GetColumn<float[]>(column).ToList();
            Assert.AreEqual(a.Count, b.Count);
            for (int r = 0; r < a.Count; r++)
                CollectionAssert.AreEqual(a[r], b[r], $"{column} row {r}");
        }
    }

    [TestMethod]
    public void PathDependentStageRoundTripsWithItsGlobalSummary()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 10, numberOfLeaves: 8));
        var stage = ml.Explain().Shap().Fit(model, split.Train);
        var summary = stage.MeanAbsoluteShap;

        var loaded = SaveAndLoad(stage, split.Train);

        Assert.AreEqual(ShapAlgorithmKind.Tree, loaded.Algorithm);
        CollectionAssert.AreEqual(stage.FeatureNames.ToArray(), loaded.FeatureNames.ToArray());
        CollectionAssert.AreEqual(summary.ToArray(), loaded.MeanAbsoluteShap.ToArray());
        var expected = stage.Transform(split.Test);
        var actual = loaded.Transform(split.Test);
        AssertSameColumns(expected, actual, ShapTransformer.ValuesColumn);
        CollectionAssert.AreEqual(expected.GetColumn<float>(ShapTransformer.BaseValueColumn).ToArray(), actual.GetColumn<float>(ShapTransformer.BaseValueColumn).ToArray());
    }

    [TestMethod]
    public void InterventionalMulticlassStageRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = Fit(ml, split, ml.MulticlassClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 4, numberOfIterations: 5), keyLabel: true);
        var stage = ml.Explain().Shap(new ShapOptions { TreePerturbation = TreeShapPerturbation.Interventional, AllClasses = true, MaxBackgroundRows = 10 })
            .Fit(model, split.Train);

        var loaded = SaveAndLoad(stage, split.Train);

        CollectionAssert.AreEqual(stage.ClassNames.ToArray(), loaded.ClassNames.ToArray());
        var expected = stage.Transform(split.Test);
        var actual = loaded.Transform(split.Test);
        AssertSameColumns(expected, actual, ShapTransformer.ValuesColumn, ShapTransformer.AllValuesColumn, ShapTransformer.AllBaseValuesColumn);
        CollectionAssert.AreEqual(expected.GetColumn<string>(ShapTransformer.ClassColumn).ToArray(), actual.GetColumn<string>(ShapTransformer.ClassColumn).ToArray());
        Assert.ThrowsExactly<InvalidOperationException>(() => loaded.MeanAbsoluteShap, "the summary was not computed before saving");
    }

    [TestMethod]
    public void LinearAndKernelStagesRoundTrip()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.SdcaLogisticRegression(split.Label, maximumNumberOfIterations: 10));
        var test = ml.Data.TakeRows(split.Test, 4);
        foreach (var options in new[]
        {
            new ShapOptions { Output = ShapOutput.Probability, Link = ShapLink.Logit },
            new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, MaxBackgroundRows = 5, NumberOfSamples = 100, Seed = 4 },
        })
        {
            var stage = ml.Explain().Shap(options).Fit(model, split.Train);
            var loaded = SaveAndLoad(stage, split.Train);
            Assert.AreEqual(stage.Algorithm, loaded.Algorithm);
            Assert.AreEqual(stage.ExplainedOutput, loaded.ExplainedOutput);
            AssertSameColumns(stage.Transform(test), loaded.Transform(test), ShapTransformer.ValuesColumn);
        }
    }
}
