using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>
/// Kernel SHAP: exact when every coalition fits the budget (against the closed form for a linear model and against
/// interventional TreeSHAP, the same game), and within a stated tolerance of exact when it samples.
/// </summary>
[TestClass]
public sealed class KernelShapTests
{
    private static double[] Explain(ShapAlgorithm method, float[] row, int output = 0)
    {
        var values = new double[method.OutputCount * method.FeatureCount];
        var explained = new double[method.OutputCount];
        method.Explain([row], [output], values, explained);
        return values.Skip(output * method.FeatureCount).Take(method.FeatureCount).ToArray();
    }

    private static List<float[]> FeatureRows(ITransformer model, IDataView data)
        => model.Transform(data).GetColumn<float[]>("Features").ToList();

    [TestMethod]
    public void ExactEnumerationEqualsWeightTimesDeviationForALinearModel()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Transforms.NormalizeMeanVariance("Features").Append(ml.Regression.Trainers.Sdca(split.Label, maximumNumberOfIterations: 20)));
        var background = ml.Data.TakeRows(split.Train, 15);
        var shap = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, BackgroundData = background })
            .Fit(model, split.Train);
        Assert.AreEqual(ShapAlgorithmKind.Kernel, shap.Algorithm);

        var weights = ((LinearRegressionModelParameters)ModelParts.Of(model, split.Train.Schema).Predictor.Model).Weights;
        var backgroundRows = FeatureRows(model, background);
        var means = Enumerable.Range(0, 10).Select(j => backgroundRows.Average(r => (double)r[j])).ToArray();
        // 10 features: all 2^10 − 2 coalitions fit the default budget of 2·10 + 2048, so the fit is exact.
        foreach (var row in Rows(shap, split.Test).Take(8))
        {
            for (int j = 0; j < 10; j++)
                Assert.AreEqual(weights[j] * (row.Features[j] - means[j]), row.Values[j], 2e-3 + 1e-4 * Math.Abs(row.Values[j]), $"feature {split.Features[j]}");
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "Kernel SHAP efficiency");
        }
    }

    [TestMethod]
    public void ExactEnumerationEqualsInterventionalTreeShapOnTheSameBackground()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 10, numberOfLeaves: 8));
        var options = new ShapOptions { BackgroundData = ml.Data.TakeRows(split.Train, 12) };
        var kernel = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, BackgroundData = options.BackgroundData }).Fit(model, split.Train);
        var tree = ml.Explain().Shap(new ShapOptions { TreePerturbation = TreeShapPerturbation.Interventional, BackgroundData = options.BackgroundData }).Fit(model, split.Train);
        foreach (var row in FeatureRows(model, split.Test).Take(5))
        {
            var expected = Explain(tree.State.Method, row);
            var actual = Explain(kernel.State.Method, row);
            for (int j = 0; j < 10; j++)
                Assert.AreEqual(expected[j], actual[j], 2e-3 + 1e-4 * Math.Abs(expected[j]), $"feature {split.Features[j]}");
        }
    }

    /// <summary>
    /// Stated tolerance of sampled Kernel SHAP (30 features, default budget 2·30 + 2048 of 2^30 coalitions): the
    /// error vector's norm is at most 10% of the exact values' norm, and the values add up exactly.
    /// </summary>
    [TestMethod]
    public void SampledKernelShapIsWithinTenPercentOfExactValues()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 20, numberOfLeaves: 8));
        var background = ml.Data.TakeRows(split.Train, 10);
        var kernel = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, BackgroundData = background, Seed = 3 }).Fit(model, split.Train);
        var tree = ml.Explain().Shap(new ShapOptions { TreePerturbation = TreeShapPerturbation.Interventional, BackgroundData = background }).Fit(model, split.Train);
        var rows = Rows(kernel, split.Test).Take(6).ToList();
        foreach (var row in rows)
        {
            var exact = Explain(tree.State.Method, row.Features);
            double error = Math.Sqrt(exact.Select((e, j) => (e - row.Values[j]) * (e - row.Values[j])).Sum());
            double norm = Math.Sqrt(exact.Sum(e => e * e));
            Assert.IsTrue(error <= 0.1 * norm, $"‖kernel − exact‖ = {error:G4}, ‖exact‖ = {norm:G4}");
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "sampled Kernel SHAP efficiency");
        }
    }

    [TestMethod]
    public void LogitLinkOnTheProbabilityAddsUpToItsLogit()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 10, numberOfLeaves: 8));
        var shap = ml.Explain().Shap(new ShapOptions
        {
            Algorithm = ShapAlgorithmKind.Kernel, Output = ShapOutput.Probability, Link = ShapLink.Logit, MaxBackgroundRows = 10, NumberOfSamples = 300,
        }).Fit(model, split.Train);
        Assert.AreEqual("logit(Probability)", shap.ExplainedOutput);
        var output = shap.Transform(ml.Data.TakeRows(split.Test, 6));
        var probabilities = output.GetColumn<float>("Probability").ToList();
        var values = output.GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
        var bases = output.GetColumn<float>(ShapTransformer.BaseValueColumn).ToList();
        for (int r = 0; r < values.Count; r++)
        {
            double p = Math.Clamp(probabilities[r], 1e-12, 1 - 1e-12);
            AssertAdditive(Math.Log(p / (1 - p)), bases[r] + values[r].Sum(v => (double)v), $"row {r}");
        }
    }

    [TestMethod]
    public void MaxFeaturesKeepsThatManyValuesThatStillAddUp()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.FastTree(split.Label, numberOfTrees: 10, numberOfLeaves: 8));
        var shap = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, MaxFeatures = 4, MaxBackgroundRows = 8, NumberOfSamples = 400 })
            .Fit(model, split.Train);
        foreach (var row in Rows(shap, ml.Data.TakeRows(split.Test, 5)))
        {
            Assert.IsTrue(row.Values.Count(v => v != 0) <= 4, $"{row.Values.Count(v => v != 0)} nonzero values");
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "L1-selected values");
        }
    }

    [TestMethod]
    public void MulticlassKernelValuesAddUpToEachClassScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = Fit(ml, split, ml.MulticlassClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 4, numberOfIterations: 10), keyLabel: true);
        var shap = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, AllClasses = true, MaxBackgroundRows = 8, NumberOfSamples = 200 })
            .Fit(model, split.Train);
        var output = shap.Transform(ml.Data.TakeRows(split.Test, 5));
        var all = output.GetColumn<float[]>(ShapTransformer.AllValuesColumn).ToList();
        var bases = output.GetColumn<float[]>(ShapTransformer.AllBaseValuesColumn).ToList();
        var scores = output.GetColumn<float[]>("Score").ToList();
        int m = split.Features.Length;
        for (int r = 0; r < all.Count; r++)
            for (int k = 0; k < 3; k++)
                AssertAdditive(scores[r][k], bases[r][k] + all[r].Skip(k * m).Take(m).Sum(v => (double)v), $"row {r} class {k}");
    }

    [TestMethod]
    public void DesignEnumeratesEverythingWhenTheBudgetAllowsAndWeightsSumToOne()
    {
        var random = RowRandom.For(1, [1f, 2f]);
        var exact = KernelDesign.Build(6, 62, random);
        Assert.IsTrue(exact.IsComplete);
        Assert.AreEqual(62, exact.Count, "all 2^6 − 2 coalitions");
        Assert.AreEqual(1.0, exact.Weights.ToArray().Sum(), 1e-12);

        var sampled = KernelDesign.Build(20, 300, random);
        Assert.IsFalse(sampled.IsComplete);
        Assert.IsTrue(sampled.Count <= 300);
        Assert.AreEqual(1.0, sampled.Weights.ToArray().Sum(), 1e-12);
        // Sizes 1 and 19 (40 coalitions) are worth enumerating completely within 300 samples.
        var sizes = Enumerable.Range(0, sampled.Count).Select(c => sampled.Mask(c).ToArray().Count(b => b)).ToList();
        Assert.AreEqual(20, sizes.Count(s => s == 1));
        Assert.AreEqual(20, sizes.Count(s => s == 19));
    }
}
