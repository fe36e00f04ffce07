using System.Xml.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Report;

namespace MLNet.Explain.Tests.Report;

[TestClass]
public sealed class ReportBuilderTests
{
    public TestContext TestContext { get; set; } = null!;

    private static ExplanationReport BreastCancerReport(MLContext ml, IReadOnlyList<long>? rows, float shapDistortion = 1f,
        Func<float[], float>? fidelity = null)
    {
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        return BreastCancerReport(ml, data, model, label, rows, shapDistortion, fidelity);
    }

    private static ExplanationReport BreastCancerReport(MLContext ml, IDataView data, ITransformer model, string label,
        IReadOnlyList<long>? rows, float shapDistortion = 1f, Func<float[], float>? fidelity = null)
    {
        return new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = rows, DataSource = "/some/dir/breast_cancer.csv" })
            .AddShap(new LinearShapStage(shapDistortion).Fit(model, data))
            .AddLime(new LinearLimeStage(fidelity ?? (_ => 0.9f)).Fit(model, data))
            .Build();
    }

    [TestMethod]
    public void ReportOnBreastCancerHoldsTheModelsNumbers()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        var report = BreastCancerReport(ml, data, model, label, [0, 5, 17]).Document;

        Assert.AreEqual("binaryClassification", report.Model.Task);
        StringAssert.Contains(report.Model.Predictor, "LinearBinaryModelParameters");
        Assert.AreEqual(569, report.Data.RowCount);
        Assert.AreEqual("breast_cancer.csv", report.Data.Source, "only the file name, never the directory");
        Assert.AreEqual(569, report.Data.LabelCounts.Sum(c => c.Count));
        var expected = ml.BinaryClassification.Evaluate(model.Transform(data), label);
        Assert.AreEqual(expected.AreaUnderRocCurve, report.Metrics.Values.Single(m => m.Name == "AUC").Value, 1e-12);
        Assert.AreEqual(expected.Accuracy, report.Metrics.Values.Single(m => m.Name == "Accuracy").Value, 1e-12);

        CollectionAssert.AreEqual(new long[] { 0, 5, 17 }, report.Rows.Select(r => r.Index).ToArray());
        var scores = model.Transform(data).GetColumn<float>("Score").ToList();
        foreach (var row in report.Rows)
        {
            Assert.AreEqual(scores[(int)row.Index], row.Prediction.Score[0], 1e-5, $"row {row.Index} score");
            Assert.AreEqual(scores[(int)row.Index], row.Shap!.Output, 1e-5, $"row {row.Index} SHAP output is the model's score");
            Assert.AreEqual(row.Shap.Output, row.Shap.BaseValue + row.Shap.Contributions.Sum(c => c.Value), 1e-4, "waterfall adds up");
            Assert.AreEqual(row.Shap.Output, row.Lime!.LocalPrediction, 1e-4, "the linear surrogate reproduces the score");
        }

        Assert.IsTrue(report.Shap.Available);
        Assert.AreEqual(569, report.Shap.RowIndices.Count, "569 rows are below MaxShapRows: all get SHAP values");
        var meanAbs = report.Shap.MeanAbs.Select(f => f.Value).ToList();
        CollectionAssert.AreEqual(meanAbs.OrderByDescending(v => v).ToList(), meanAbs, "mean |SHAP| is sorted, largest first");
        var top = report.Shap.MeanAbs[0].Name;
        int column = report.Shap.FeatureNames.ToList().IndexOf(top);
        Assert.AreEqual(report.Shap.Values.Average(v => Math.Abs(v[column])), report.Shap.MeanAbs[0].Value, 1e-9);

        Assert.AreEqual(0, report.Quality.ShapAdditivity!.Violations);
        Assert.AreEqual(569, report.Quality.ShapAdditivity.RowsChecked);
        Assert.AreEqual(0.9, report.Quality.LimeFidelity!.MeanScore, 1e-6);
        Assert.IsFalse(report.Warnings.Any(w => w.Code is "shapAdditivity" or "lowLimeFidelity"));
    }

    [TestMethod]
    public void StronglyCorrelatedFeaturesAreFoundAndWarnedAbout()
    {
        var ml = new MLContext(seed: 1);
        var report = BreastCancerReport(ml, [0]).Document;

        // Radius and perimeter of a cell nucleus are nearly proportional: the textbook correlated pair of this data set.
        var pair = report.Correlations.Pairs.Single(p => new[] { p.First, p.Second }.Order().SequenceEqual(new[] { "MeanPerimeter", "MeanRadius" }));
        Assert.IsTrue(pair.R > 0.99, $"r = {pair.R}");
        Assert.IsTrue(report.Correlations.Pairs.All(p => Math.Abs(p.R) > 0.8));
        Assert.AreEqual(30, report.Correlations.FeaturesCompared);
        var warning = report.Warnings.Single(w => w.Code == "correlatedFeatures");
        StringAssert.Contains(warning.Message, "Permutation importance is unreliable");
        CollectionAssert.Contains(warning.Features.ToList(), "MeanRadius");
    }

    [TestMethod]
    public void BrokenAdditivityAndLowFidelityBecomeWarnings()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        // Low fidelity for the explained rows whose first feature is above the middle of theirs: some rows, not all.
        var features = model.Transform(data).GetColumn<float[]>("Features").ToList();
        var firsts = new[] { 0, 5, 17 }.Select(r => features[r][0]).ToList();
        float middle = (firsts.Min() + firsts.Max()) / 2;
        var report = BreastCancerReport(ml, data, model, label, [0, 5, 17], shapDistortion: 1.5f, fidelity: x => x[0] > middle ? 0.2f : 0.8f).Document;

        var additivity = report.Quality.ShapAdditivity!;
        Assert.IsTrue(additivity.Violations > 500, $"scaled SHAP values no longer add up ({additivity.Violations} violations)");
        Assert.IsTrue(additivity.MaxAbsError > 0.1);
        StringAssert.Contains(report.Warnings.Single(w => w.Code == "shapAdditivity").Message, "do not add up");

        var low = report.Rows.Where(r => r.Lime!.Score < 0.5).Select(r => r.Index).ToList();
        Assert.IsTrue(low.Count is > 0 and < 3, "the fixture has rows on both sides of the threshold");
        CollectionAssert.AreEqual(low, report.Quality.LimeFidelity!.LowFidelityRows.ToList());
        var warning = report.Warnings.Single(w => w.Code == "lowLimeFidelity");
        StringAssert.Contains(warning.Message, $"rows {string.Join(", ", low)}");
    }

    [TestMethod]
    public void DefaultRowsAreTheHighestMedianAndLowestOutput()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        var scores = model.Transform(data).GetColumn<float>("Score").ToList();
        var report = BreastCancerReport(ml, data, model, label, rows: null).Document;

        var byScore = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i).ToList();
        var expected = new long[] { byScore[0], byScore[byScore.Count / 2], byScore[^1] }.Order().ToArray();
        CollectionAssert.AreEqual(expected, report.Rows.Select(r => r.Index).ToArray());
    }

    [TestMethod]
    public void MissingMethodsAreShownAsUnavailableWithTheirReason()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        var report = new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [3] })
            .MarkUnavailable(ReportMethod.Shap, "SHAP is not installed in this test.")
            .Build();

        Assert.IsFalse(report.Document.Shap.Available);
        Assert.AreEqual("SHAP is not installed in this test.", report.Document.Shap.Reason);
        Assert.IsFalse(report.Document.Lime.Available);
        Assert.IsFalse(report.Document.PermutationImportance.Available);
        Assert.IsNull(report.Document.Rows.Single().Shap);
        Assert.IsTrue(report.Document.Metrics.Available, "metrics do not depend on any explanation method");
        Assert.AreEqual(0, report.Charts.Count, "no method, no chart");
        var html = report.ToHtml();
        StringAssert.Contains(html, "SHAP is not installed in this test.");
        StringAssert.Contains(html, "No permutation importance results were added to this report.");
    }

    [TestMethod]
    public void PermutationImportanceIsChartedWithItsConfidenceIntervals()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        var report = new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [0] })
            .AddPermutationImportance("AUC", 0.99,
            [
                new FeatureImportanceEntry("worst radius", 0.02, 0.004, 0.002, 0.016, 0.024, [0.02, 0.018, 0.022]),
                new FeatureImportanceEntry("mean texture", 0.05, 0.01, 0.005, 0.04, 0.06, [0.05, 0.04, 0.06]),
            ])
            .Build();

        var importance = report.Document.PermutationImportance;
        CollectionAssert.AreEqual(new[] { "mean texture", "worst radius" }, importance.Features.Select(f => f.Name).ToArray(), "most important first");
        var svg = XDocument.Parse(report.Charts.Single(c => c.File.Id == "importance").Svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        var bars = svg.Descendants(ns + "rect").Where(r => r.Element(ns + "title") is not null).ToList();
        Assert.AreEqual(2, bars.Count);
        double Width(XElement bar) => double.Parse(bar.Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.AreEqual(0.05 / 0.02, Width(bars[0]) / Width(bars[1]), 0.02, "bar lengths are proportional to the importances");
        // Three lines per error bar (the interval and its two caps) on top of the axis and grid lines.
        var thickLines = svg.Descendants(ns + "line").Count(l => l.Attribute("stroke-width")?.Value == "1.4");
        Assert.AreEqual(6, thickLines);
    }

    [TestMethod]
    public void BadInputIsAClearError()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);

        var outOfRange = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [2, 600] }).Build());
        StringAssert.Contains(outOfRange.Message, "Row 600");
        StringAssert.Contains(outOfRange.Message, "569 rows");

        var noLabel = Assert.ThrowsExactly<ArgumentException>(() =>
            new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = "Outcome" }).Build());
        StringAssert.Contains(noLabel.Message, "'Outcome'");

        var negative = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [-1] }));
        StringAssert.Contains(negative.Message, "start at 0");

        var (_, otherModel, _) = ReportTestModels.BreastCancerLinear(ml);
        var otherStage = new LinearShapStage().Fit(otherModel, data);
        var mismatch = Assert.ThrowsExactly<ArgumentException>(() =>
            new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label }).AddShap(otherStage));
        StringAssert.Contains(mismatch.Message, "different model");
    }

    [TestMethod]
    public void SaveWritesThePageTheJsonAndEveryChartAsAStandaloneSvg()
    {
        var ml = new MLContext(seed: 1);
        var report = BreastCancerReport(ml, [0, 5]);
        var folder = Path.Combine(Path.GetTempPath(), "mlnet-explain-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var written = report.Save(folder);

            Assert.IsTrue(File.Exists(Path.Combine(folder, "index.html")));
            var json = File.ReadAllText(Path.Combine(folder, "explanations.json"));
            var roundTrip = ReportJson.Deserialize(json);
            Assert.AreEqual(report.Document.Rows.Count, roundTrip.Rows.Count);
            Assert.AreEqual(report.Document.Shap.Values[3][7], roundTrip.Shap.Values[3][7], 1e-12);

            var ids = report.Charts.Select(c => c.File.Id).ToList();
            foreach (var id in new[] { "shap-importance", "shap-summary", "dependence-1", "dependence-4", "row-0-waterfall", "row-5-lime", "shap-additivity", "lime-fidelity" })
                CollectionAssert.Contains(ids, id);
            foreach (var chart in roundTrip.Charts)
            {
                var path = Path.Combine(folder, chart.File);
                CollectionAssert.Contains(written.ToList(), path);
                var svg = XDocument.Load(path).Root!;
                Assert.AreEqual("svg", svg.Name.LocalName, chart.File);
                Assert.IsTrue(double.Parse(svg.Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture) > 0);
            }
            var html = File.ReadAllText(Path.Combine(folder, "index.html"));
            Assert.AreEqual(report.Charts.Count, html.Split("<svg ").Length - 1, "every chart is inline in the page");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void CreateExplainsFastTreeWithExactTreeShapAndLime()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var report = ExplanationReport.Create(ml, model, data, new ReportOptions { LabelColumn = "Malignant", Rows = [0, 5, 17] }).Document;

        Assert.IsTrue(report.Shap.Available, report.Shap.Reason);
        Assert.AreEqual("Tree", report.Shap.Algorithm);
        Assert.AreEqual(569, report.Quality.ShapAdditivity!.RowsChecked);
        Assert.AreEqual(0, report.Quality.ShapAdditivity.Violations, "TreeSHAP is exact");
        var scores = model.Transform(data).GetColumn<float>("Score").ToList();
        foreach (var row in report.Rows)
        {
            Assert.AreEqual(scores[(int)row.Index], row.Shap!.Output, 1e-4, "the explained output is FastTree's raw score");
            Assert.IsTrue(row.Lime!.Weights.Count is > 0 and <= 10, "LIME keeps at most 10 features by default");
            Assert.IsTrue(row.Lime.Score is > 0 and <= 1, $"fidelity {row.Lime.Score}");
            Assert.IsNotNull(row.Lime.Class, "LIME names the explained class of a classifier");
            foreach (var weight in row.Lime.Weights)
                Assert.IsTrue(ConditionHolds(weight.Condition!, weight.Name, row.FeatureValues.Single(f => f.Name == weight.Name).Value),
                    $"row {row.Index}: '{weight.Condition}' must describe {weight.Name}'s value");
        }
        Assert.IsTrue(report.Lime.Available);

        var importance = report.PermutationImportance;
        Assert.IsTrue(importance.Available, importance.Reason);
        Assert.AreEqual("columns", importance.Level);
        Assert.AreEqual(5, importance.Repeats);
        Assert.AreEqual(true, importance.HigherIsBetter);
        var expected = ml.BinaryClassification.Evaluate(model.Transform(data), "Malignant");
        Assert.AreEqual(expected.AreaUnderRocCurve, importance.Baseline!.Value, 1e-6, "the baseline is the model's AUC on the data");
        Assert.AreEqual(30, importance.Features.Count, "every input column but the label");
        var means = importance.Features.Select(f => f.Mean).ToList();
        CollectionAssert.AreEqual(means.OrderByDescending(m => m).ToList(), means, "most important first");
        Assert.IsTrue(importance.Features.All(f => f.Values.Count == 5 && f.Ci95Low <= f.Mean && f.Mean <= f.Ci95High));
    }

    [TestMethod]
    public void RegressionReportsHaveRegressionMetricsAndExactShap()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "diabetes.csv", DataKind.Single);
        var model = ml.Transforms.Concatenate("Features", features)
            .Append(ml.Regression.Trainers.FastTree(labelColumnName: label, numberOfTrees: 30, numberOfLeaves: 8)).Fit(data);
        var report = ExplanationReport.Create(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [2] }).Document;

        Assert.AreEqual("regression", report.Model.Task);
        var expected = ml.Regression.Evaluate(model.Transform(data), label);
        Assert.AreEqual(expected.RSquared, report.Metrics.Values.Single(m => m.Name == "RSquared").Value, 1e-12);
        Assert.AreEqual(0, report.Data.LabelCounts.Count, "no label counts for a continuous label");
        Assert.AreEqual(0, report.Quality.ShapAdditivity!.Violations);
        Assert.IsNull(report.Rows.Single().Prediction.Probability);
        Assert.IsNull(report.Rows.Single().Lime!.Class, "regression LIME explains the score, no class");
    }

    [TestMethod]
    public void MulticlassReportsNameTheClasses()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "iris.csv", DataKind.String);
        var model = ml.Transforms.Conversion.MapValueToKey(label)
            .Append(ml.Transforms.Concatenate("Features", features))
            .Append(ml.MulticlassClassification.Trainers.LightGbm(labelColumnName: label, numberOfIterations: 20))
            .Fit(data);
        var report = ExplanationReport.Create(ml, model, data, new ReportOptions { LabelColumn = label, Rows = [0, 75, 149] }).Document;

        Assert.AreEqual("multiclassClassification", report.Model.Task);
        CollectionAssert.AreEquivalent(new[] { "setosa", "versicolor", "virginica" }, report.Model.Classes.ToArray());
        CollectionAssert.AreEqual(new[] { "setosa", "versicolor", "virginica" }, report.Rows.Select(r => r.Label).ToArray(), "labels are shown by name, not key");
        Assert.IsTrue(report.Rows.All(r => r.Prediction.Score.Count == 3));
        Assert.AreEqual(50, report.Data.LabelCounts.Single(c => c.Value == "versicolor").Count);
        var expected = ml.MulticlassClassification.Evaluate(model.Transform(data), label);
        Assert.AreEqual(expected.MicroAccuracy, report.Metrics.Values.Single(m => m.Name == "MicroAccuracy").Value, 1e-12);
        Assert.IsTrue(report.Shap.Available, report.Shap.Reason);
        Assert.AreEqual(0, report.Quality.ShapAdditivity!.Violations);
        Assert.IsTrue(report.Rows.All(r => r.Lime!.Class == r.Prediction.PredictedLabel), "LIME explains each row's predicted class");
    }

    /// <summary>Checks a LIME quartile condition ("x &lt;= a", "a &lt; x &lt;= b", "x &gt; b") against the row's value.</summary>
    private static bool ConditionHolds(string condition, string name, double value)
    {
        double Number(string text) => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        var parts = condition.Split(' ');
        return parts switch
        {
            [var n, "<=", var high] when n == name => value <= Number(high) * (1 + 1e-3),
            [var n, ">", var low] when n == name => value > Number(low) * (1 - 1e-3),
            [var low, "<", var n, "<=", var high] when n == name => value > Number(low) * (1 - 1e-3) && value <= Number(high) * (1 + 1e-3),
            _ => false,
        };
    }
}
