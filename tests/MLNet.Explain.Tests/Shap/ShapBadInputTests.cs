using Microsoft.ML;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>Bad input gets a clear exception naming what is wrong.</summary>
[TestClass]
public sealed class ShapBadInputTests
{
    [TestMethod]
    public void TreeAlgorithmOnALinearModelNamesTheModelType()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.SdcaLogisticRegression(split.Label, maximumNumberOfIterations: 5));
        var error = Assert.ThrowsExactly<NotSupportedException>(() =>
            ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Tree }).Fit(model, split.Train));
        StringAssert.Contains(error.Message, "LinearBinaryModelParameters");
        StringAssert.Contains(error.Message, "Tree");
    }

    [TestMethod]
    public void BackgroundWithoutAColumnTheModelReadsNamesTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 5));
        var background = ml.Transforms.DropColumns("MeanTexture").Fit(split.Train).Transform(split.Train);
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            ml.Explain().Shap(new ShapOptions { BackgroundData = background }).Fit(model, split.Train));
        StringAssert.Contains(error.Message, "MeanTexture");
        StringAssert.Contains(error.Message, "background data");
    }

    [TestMethod]
    public void UnknownClassNameListsTheClasses()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = Fit(ml, split, ml.MulticlassClassification.Trainers.LightGbm(split.Label, numberOfIterations: 5), keyLabel: true);
        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            ml.Explain().Shap(new ShapOptions { ClassName = "class_9" }).Fit(model, split.Train));
        StringAssert.Contains(error.Message, "class_9");
        StringAssert.Contains(error.Message, "class_0, class_1, class_2");
    }

    [TestMethod]
    public void ClassOptionsOnASingleOutputModelAreRejected()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 5));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Shap(new ShapOptions { ClassIndex = 1 }).Fit(model, split.Train));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Explain().Shap(new ShapOptions { MaxBackgroundRows = 0 }));
    }
}
