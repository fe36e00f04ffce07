using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>Exact SHAP of linear models and GAMs: φ_i = w_i (x_i − E[x_i]), φ_i = f_i(x_i) − E[f_i], local accuracy on the model's Score.</summary>
[TestClass]
public sealed class LinearShapTests
{
    private static double[] Means(ITransformer model, IDataView data)
    {
        var rows = model.Transform(data).GetColumn<float[]>("Features").ToList();
        return Enumerable.Range(0, rows[0].Length).Select(j => rows.Average(r => (double)r[j])).ToArray();
    }

    [TestMethod]
    public void LogisticRegressionValuesAreWeightTimesDeviationFromTheMean()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.SdcaLogisticRegression(split.Label, maximumNumberOfIterations: 20));
        var shap = ml.Explain().Shap().Fit(model, split.Train);
        Assert.AreEqual(ShapAlgorithmKind.Linear, shap.Algorithm);

        var predictor = ((IEnumerable<ITransformer>)model).OfType<BinaryPredictionTransformer<CalibratedModelParametersBase<LinearBinaryModelParameters, PlattCalibrator>>>().Single();
        var weights = predictor.Model.SubModel.Weights;
        var means = Means(model, split.Train);
        foreach (var row in Rows(shap, split.Test))
        {
            for (int j = 0; j < weights.Count; j++)
                Assert.AreEqual(weights[j] * (row.Features[j] - means[j]), row.Values[j], 1e-4 * Math.Max(1, Math.Abs(row.Values[j])), $"slot {j}");
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "logistic regression");
        }
    }

    [TestMethod]
    public void ProbabilityThroughTheLogitOfAPlattCalibratorIsExact()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.SdcaLogisticRegression(split.Label, maximumNumberOfIterations: 20));
        var shap = ml.Explain().Shap(new ShapOptions { Output = ShapOutput.Probability, Link = ShapLink.Logit }).Fit(model, split.Train);
        Assert.AreEqual(ShapAlgorithmKind.Linear, shap.Algorithm, "the logit of a Platt probability is affine in the margin");
        Assert.AreEqual("logit(Probability)", shap.ExplainedOutput);
        var output = shap.Transform(split.Test);
        var probabilities = output.GetColumn<float>("Probability").ToList();
        var rows = Rows(shap, split.Test);
        for (int r = 0; r < rows.Count; r++)
        {
            double p = Math.Clamp(probabilities[r], 1e-7, 1 - 1e-7);
            if (p is <= 1e-6 or >= 1 - 1e-6) continue;
            AssertAdditive(Math.Log(p / (1 - p)), rows[r].Base + rows[r].Values.Sum(v => (double)v), $"row {r} logit(probability)");
        }
    }

    [TestMethod]
    public void RegressionModelsAddUpToTheirScore()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var normalize = ml.Transforms.NormalizeMeanVariance("Features");
        foreach (var (trainer, ofScore) in new (IEstimator<ITransformer>, Func<float, double>)[]
        {
            (normalize.Append(ml.Regression.Trainers.Sdca(split.Label, maximumNumberOfIterations: 20)), s => s),
            (normalize.Append(ml.Regression.Trainers.LbfgsPoissonRegression(split.Label)), s => Math.Log(s)),
            (ml.Regression.Trainers.Gam(split.Label, numberOfIterations: 100), s => s),
        })
        {
            var model = Fit(ml, split, trainer);
            var shap = ml.Explain().Shap().Fit(model, split.Train);
            Assert.AreEqual(ShapAlgorithmKind.Linear, shap.Algorithm);
            foreach (var row in Rows(shap, split.Test))
                AssertAdditive(ofScore(row.Score), row.Base + row.Values.Sum(v => (double)v), shap.ExplainedOutput);
        }
    }

    [TestMethod]
    public void GamValuesAreShapeEffectMinusItsMean()
    {
        var ml = new MLContext(seed: 1);
        var split = BreastCancer(ml);
        var model = Fit(ml, split, ml.BinaryClassification.Trainers.Gam(split.Label, numberOfIterations: 50));
        var shap = ml.Explain().Shap().Fit(model, split.Train);
        var gam = (GamBinaryModelParameters)PredictorOutputs.Uncalibrated(((IEnumerable<ITransformer>)model).OfType<ISingleFeaturePredictionTransformer<object>>().Last().Model).Model;
        var train = model.Transform(split.Train).GetColumn<float[]>("Features").ToList();
        // Shape function s reads slot s here: every breast cancer feature gets a shape function.
        Assert.AreEqual(30, gam.NumberOfShapeFunctions);
        double Effect(int s, float x)
        {
            var bounds = gam.GetBinUpperBounds(s);
            int bin = 0;
            while (!(x <= bounds[bin])) bin++;
            return gam.GetBinEffects(s)[bin];
        }
        var expected = Enumerable.Range(0, 30).Select(s => train.Average(r => Effect(s, r[s]))).ToArray();
        foreach (var row in Rows(shap, split.Test).Take(20))
        {
            for (int s = 0; s < 30; s++)
                Assert.AreEqual(Effect(s, row.Features[s]) - expected[s], row.Values[s], 1e-4, $"shape {s}");
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "GAM");
        }
    }

    [TestMethod]
    public void MaximumEntropyClassMarginsRebuildTheSoftmaxScores()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = ml.Transforms.Concatenate("Features", split.Features)
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .Append(ml.Transforms.Conversion.MapValueToKey(split.Label))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(split.Label))
            .Fit(split.Train);
        var shap = ml.Explain().Shap(new ShapOptions { AllClasses = true }).Fit(model, split.Train);
        Assert.AreEqual(ShapAlgorithmKind.Linear, shap.Algorithm);
        var output = shap.Transform(split.Test);
        var all = output.GetColumn<float[]>(ShapTransformer.AllValuesColumn).ToList();
        var bases = output.GetColumn<float[]>(ShapTransformer.AllBaseValuesColumn).ToList();
        var scores = output.GetColumn<float[]>("Score").ToList();
        int m = split.Features.Length;
        for (int r = 0; r < all.Count; r++)
        {
            var margins = Enumerable.Range(0, 3).Select(k => bases[r][k] + all[r].Skip(k * m).Take(m).Sum(v => (double)v)).ToArray();
            double max = margins.Max(), total = margins.Sum(v => Math.Exp(v - max));
            for (int k = 0; k < 3; k++)
                AssertAdditive(scores[r][k], Math.Exp(margins[k] - max) / total, $"row {r} class {k} softmax");
        }
    }

    [TestMethod]
    public void LinearAlgorithmOnATreeModelNamesIt()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 5));
        var error = Assert.ThrowsExactly<NotSupportedException>(() => ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Linear }).Fit(model, split.Train));
        StringAssert.Contains(error.Message, "FastTreeRegressionModelParameters");
    }
}
