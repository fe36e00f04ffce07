using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.PermutationImportance;

/// <summary>Our array-based metrics reproduce ML.NET's evaluators on the same predictions.</summary>
[TestClass]
public sealed class MetricTests
{
    [TestMethod]
    public void BinaryMetricsMatchMLNetEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var scored = model.Transform(data);
        var expected = ml.BinaryClassification.Evaluate(scored, "Malignant");
        var input = new MetricInput(
            scored.GetColumn<bool>("Malignant").Select(l => l ? 1f : 0f).ToArray(),
            scored.GetColumn<float>("Score").ToArray(), 1,
            scored.GetColumn<float>("Probability").ToArray());

        var actual = ImportanceMetric.For(PredictionKind.BinaryClassification).ToDictionary(m => m.Name, m => m.Compute(input));
        Assert.AreEqual(expected.AreaUnderRocCurve, actual["AreaUnderRocCurve"], 1e-12);
        Assert.AreEqual(expected.Accuracy, actual["Accuracy"], 1e-12);
        Assert.AreEqual(expected.F1Score, actual["F1Score"], 1e-12);
        Assert.AreEqual(expected.AreaUnderPrecisionRecallCurve, actual["AreaUnderPrecisionRecallCurve"], 1e-12);
        Assert.AreEqual(expected.PositivePrecision, actual["PositivePrecision"], 1e-12);
        Assert.AreEqual(expected.PositiveRecall, actual["PositiveRecall"], 1e-12);
        Assert.AreEqual(expected.NegativePrecision, actual["NegativePrecision"], 1e-12);
        Assert.AreEqual(expected.NegativeRecall, actual["NegativeRecall"], 1e-12);
        Assert.AreEqual(expected.LogLoss, actual["LogLoss"], 1e-9);
        Assert.AreEqual(expected.LogLossReduction, actual["LogLossReduction"], 1e-9);
    }

    [TestMethod]
    public void AucCountsTiedScoresAsOneHalfLikeMLNet()
    {
        var ml = new MLContext(seed: 1);
        // Heavily tied scores: a model with 2 leaves puts every row in one of two scores.
        var (data, features, label) = TestData.BreastCancer(ml);
        var model = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 1, numberOfLeaves: 2))
            .Fit(data);
        var scored = model.Transform(data);
        var scores = scored.GetColumn<float>("Score").ToArray();
        Assert.IsTrue(scores.Distinct().Count() <= 2);
        var input = new MetricInput(scored.GetColumn<bool>(label).Select(l => l ? 1f : 0f).ToArray(), scores, 1);
        var expected = ml.BinaryClassification.EvaluateNonCalibrated(scored, label);
        Assert.AreEqual(expected.AreaUnderRocCurve, ImportanceMetric.Find(PredictionKind.BinaryClassification, "AUC").Compute(input), 1e-12);
        Assert.AreEqual(expected.AreaUnderPrecisionRecallCurve, ImportanceMetric.Find(PredictionKind.BinaryClassification, "AUPRC").Compute(input), 1e-12);
    }

    [TestMethod]
    public void MulticlassMetricsMatchMLNetEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "wine.csv", DataKind.String);
        var model = ml.Transforms.Conversion.MapValueToKey(label)
            .Append(ml.Transforms.Concatenate("Features", features))
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(label))
            .Fit(data);
        var scored = model.Transform(data);
        var expected = ml.MulticlassClassification.Evaluate(scored, label);
        var input = new MetricInput(
            scored.GetColumn<uint>(label).Select(k => (float)(k - 1)).ToArray(),
            scored.GetColumn<float[]>("Score").SelectMany(s => s).ToArray(), 3);

        var actual = ImportanceMetric.For(PredictionKind.MulticlassClassification).ToDictionary(m => m.Name, m => m.Compute(input));
        Assert.AreEqual(expected.MicroAccuracy, actual["MicroAccuracy"], 1e-12);
        Assert.AreEqual(expected.MacroAccuracy, actual["MacroAccuracy"], 1e-12);
        Assert.AreEqual(expected.LogLoss, actual["LogLoss"], 1e-9);
        Assert.AreEqual(expected.LogLossReduction, actual["LogLossReduction"], 1e-9);
    }

    [TestMethod]
    public void RegressionMetricsMatchMLNetEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "diabetes.csv", DataKind.Single);
        var model = ml.Transforms.Concatenate("Features", features)
            .Append(ml.Regression.Trainers.FastTree(labelColumnName: label, numberOfTrees: 20, numberOfLeaves: 8))
            .Fit(data);
        var scored = model.Transform(data);
        var expected = ml.Regression.Evaluate(scored, label);
        var input = new MetricInput(scored.GetColumn<float>(label).ToArray(), scored.GetColumn<float>("Score").ToArray(), 1);

        var actual = ImportanceMetric.For(PredictionKind.Regression).ToDictionary(m => m.Name, m => m.Compute(input));
        Assert.AreEqual(expected.RSquared, actual["RSquared"], 1e-9);
        Assert.AreEqual(expected.RootMeanSquaredError, actual["RootMeanSquaredError"], 1e-6);
        Assert.AreEqual(expected.MeanAbsoluteError, actual["MeanAbsoluteError"], 1e-6);
        Assert.AreEqual(expected.MeanSquaredError, actual["MeanSquaredError"], 1e-4);
    }

    [TestMethod]
    public void MetricNamesResolveCaseInsensitivelyWithAliases()
    {
        Assert.AreEqual("AreaUnderRocCurve", ImportanceMetric.Find(PredictionKind.BinaryClassification, "auc").Name);
        Assert.AreEqual("RootMeanSquaredError", ImportanceMetric.Find(PredictionKind.Regression, "RMSE").Name);
        Assert.AreEqual("MicroAccuracy", ImportanceMetric.Default(PredictionKind.MulticlassClassification).Name);
        Assert.AreEqual("RSquared", ImportanceMetric.Default(PredictionKind.Regression).Name);
        Assert.IsFalse(ImportanceMetric.Find(PredictionKind.Regression, "MAE").HigherIsBetter);
    }

    [TestMethod]
    public void StudentTQuantilesMatchTables()
    {
        // Two-sided 95% critical values from standard t tables.
        var table = new Dictionary<int, double> { [1] = 12.706205, [2] = 4.302653, [4] = 2.776445, [9] = 2.262157, [29] = 2.045230, [1000] = 1.962339 };
        foreach (var (df, t) in table)
            Assert.AreEqual(t, Statistics.StudentTQuantile(0.975, df), 1e-5, $"df = {df}");
        Assert.AreEqual(-Statistics.StudentTQuantile(0.9, 7), Statistics.StudentTQuantile(0.1, 7), 1e-12);
    }

    [TestMethod]
    public void SummaryGivesTConfidenceInterval()
    {
        var (mean, stdDev, stdErr, low, high) = Statistics.Summarize([1.0, 2.0, 3.0, 4.0, 5.0]);
        Assert.AreEqual(3.0, mean, 1e-12);
        Assert.AreEqual(Math.Sqrt(2.5), stdDev, 1e-12);
        Assert.AreEqual(Math.Sqrt(2.5) / Math.Sqrt(5), stdErr, 1e-12);
        Assert.AreEqual(3.0 - 2.776445 * stdErr, low, 1e-5);
        Assert.AreEqual(3.0 + 2.776445 * stdErr, high, 1e-5);
    }
}
