using Microsoft.ML;
using Microsoft.ML.Data;
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

    [TestMethod]
    public void ProbabilityNeedsACalibratedModelAndTheLogitLinkForExactTreeValues()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var forest = Fit(ml, split, ml.BinaryClassification.Trainers.FastForest(split.Label, numberOfTrees: 5));
        var uncalibrated = Assert.ThrowsExactly<ArgumentException>(() =>
            ml.Explain().Shap(new ShapOptions { Output = ShapOutput.Probability }).Fit(forest, split.Train));
        StringAssert.Contains(uncalibrated.Message, "calibrated binary classifier");

        var fastTree = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 5));
        var identity = Assert.ThrowsExactly<NotSupportedException>(() =>
            ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Tree, Output = ShapOutput.Probability, Link = ShapLink.Identity }).Fit(fastTree, split.Train));
        StringAssert.Contains(identity.Message, "logit");
    }

    /// <summary>
    /// NaN features in linear SHAP: the model scores NaN and so does the row's value of that slot (the others are
    /// exact); NaN background values are left out of the slot's mean.
    /// </summary>
    [TestMethod]
    public void NaNFeaturesGiveNaNLinearValuesOnlyWhereTheModelIsUndefined()
    {
        var ml = new MLContext(seed: 1);
        var (train, test) = DiabetesWithMissingBmi(ml);
        var model = ml.Regression.Trainers.Sdca(labelColumnName: "Progression", maximumNumberOfIterations: 10).Fit(train);
        var shap = ml.Explain().Shap().Fit(model, train);
        Assert.AreEqual(ShapAlgorithmKind.Linear, shap.Algorithm);

        var weights = model.Model.Weights;
        var trainRows = train.GetColumn<float[]>("Features").ToList();
        var means = Enumerable.Range(0, 10).Select(j => trainRows.Where(r => !float.IsNaN(r[j])).Average(r => (double)r[j])).ToArray();
        Assert.AreEqual(model.Model.Bias + Enumerable.Range(0, 10).Sum(j => weights[j] * means[j]), shap.BaseValues[0], 1e-3, "base value over the non-NaN values");
        int nanRows = 0;
        foreach (var row in Rows(shap, test))
        {
            for (int j = 0; j < 10; j++)
                if (float.IsNaN(row.Features[j]))
                    Assert.IsTrue(float.IsNaN(row.Values[j]), $"slot {j} is NaN");
                else
                    Assert.AreEqual(weights[j] * (row.Features[j] - means[j]), row.Values[j], 1e-3 + 1e-4 * Math.Abs(row.Values[j]), $"slot {j}");
            if (float.IsNaN(row.Features[2]))
            {
                nanRows++;
                Assert.IsTrue(float.IsNaN(row.Score) && float.IsNaN(row.Output), "ML.NET scores NaN, and so does ShapOutput");
            }
            else
                AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "rows without NaN add up");
        }
        Assert.IsTrue(nanRows > 5, "rows with NaN are explained, not dropped");
    }

    /// <summary>
    /// NaN features in Kernel SHAP: through a tree model (which routes NaN) the values add up to the score; where the
    /// model itself scores NaN the row's values are NaN, and a background it scores NaN on fails naming the slot.
    /// </summary>
    [TestMethod]
    public void NaNFeaturesInKernelShapFollowTheModel()
    {
        var ml = new MLContext(seed: 1);
        var (train, test) = DiabetesWithMissingBmi(ml);
        var options = new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, MaxBackgroundRows = 10, NumberOfSamples = 200, Seed = 2 };

        var trees = ml.Regression.Trainers.FastTree(labelColumnName: "Progression", numberOfTrees: 10, numberOfLeaves: 8).Fit(train);
        var rows = Rows(ml.Explain().Shap(options).Fit(trees, train), test).Where(r => float.IsNaN(r.Features[2])).ToList();
        Assert.IsTrue(rows.Count > 5);
        foreach (var row in rows)
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "Kernel SHAP through a tree on a row with NaN");

        var linear = ml.Regression.Trainers.Sdca(labelColumnName: "Progression", maximumNumberOfIterations: 10).Fit(train);
        var complete = ml.Data.FilterRowsByMissingValues(train, "Features");
        var kernel = ml.Explain().Shap(new ShapOptions { Algorithm = options.Algorithm, MaxBackgroundRows = 10, NumberOfSamples = 200, Seed = 2, BackgroundData = complete }).Fit(linear, train);
        foreach (var row in Rows(kernel, test))
            if (float.IsNaN(row.Features[2]))
                Assert.IsTrue(float.IsNaN(row.Values[2]) && float.IsNaN(row.Output), "undefined where the model is");
            else
                AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "Kernel SHAP of a linear model without NaN");

        // A k-means summary takes each coordinate from a member without NaN; a sampled background keeps NaN rows.
        var sampled = new ShapOptions { Algorithm = options.Algorithm, MaxBackgroundRows = 40, BackgroundSummary = BackgroundSummary.Sample, Seed = 2 };
        var error = Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().Shap(sampled).Fit(linear, train));
        StringAssert.Contains(error.Message, "'Bmi'");
    }

    /// <summary>Diabetes as a feature vector (slot names from the CSV) with 15% of the BMI values missing, split 80/20.</summary>
    private static (IDataView Train, IDataView Test) DiabetesWithMissingBmi(MLContext ml)
    {
        var split = Diabetes(ml);
        var random = new Random(5);
        IDataView WithMissing(IDataView data)
        {
            var featurized = ml.Transforms.Concatenate("Features", split.Features).Fit(data).Transform(data);
            var rows = ml.Data.CreateEnumerable<DiabetesRow>(featurized, reuseRowObject: false).ToList();
            foreach (var row in rows)
                if (random.NextDouble() < 0.15) row.Features[2] = float.NaN;
            var schema = SchemaDefinition.Create(typeof(DiabetesRow));
            schema[nameof(DiabetesRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 10);
            schema[nameof(DiabetesRow.Features)].AddAnnotation("SlotNames",
                new VBuffer<ReadOnlyMemory<char>>(10, split.Features.Select(f => f.AsMemory()).ToArray()), new VectorDataViewType(TextDataViewType.Instance, 10));
            return ml.Data.LoadFromEnumerable(rows, schema);
        }
        return (WithMissing(split.Train), WithMissing(split.Test));
    }

    private sealed class DiabetesRow
    {
        public float[] Features { get; set; } = [];
        public float Progression { get; set; }
    }
}
