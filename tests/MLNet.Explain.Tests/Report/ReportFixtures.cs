using Microsoft.ML;
using MLNet.Explain.Report;

namespace MLNet.Explain.Tests.Report;

/// <summary>Complete reports shared by the browser, JSON schema and escaping tests.</summary>
internal static class ReportFixtures
{
    /// <summary>The acceptance case: breast cancer with FastTree, every stage fitted by <see cref="ExplanationReport.Create"/>.</summary>
    public static ExplanationReport BreastCancerFastTree(MLContext ml, IReadOnlyList<long>? rows)
    {
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 100);
        return ExplanationReport.Create(ml, model, data, new ReportOptions { LabelColumn = "Malignant", Rows = rows, DataSource = "breast_cancer.csv" });
    }

    /// <summary>Breast cancer with a linear model and the exact linear stand-ins, plus given importances: every section filled.</summary>
    public static ExplanationReport BreastCancerLinear(MLContext ml, IReadOnlyList<long>? rows)
    {
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        return new ExplanationReportBuilder(ml, model, data, new ReportOptions { LabelColumn = label, Rows = rows, DataSource = "breast_cancer.csv" })
            .AddShap(new LinearShapStage().Fit(model, data))
            .AddLime(new LinearLimeStage(_ => 0.9f).Fit(model, data))
            .AddPermutationImportance("AUC", 0.99, [new FeatureImportanceEntry("WorstRadius", 0.02, 0.004, 0.002, 0.016, 0.024, [0.02, 0.018, 0.022])])
            .Build();
    }

    /// <summary>The injection data set (see <see cref="ReportTestModels.Injection"/>) with every section filled.</summary>
    public static ExplanationReport Injection(MLContext ml)
    {
        var (data, model) = ReportTestModels.Injection(ml);
        var slots = ModelParts.Of(model, data.Schema).FeatureNames;
        return new ExplanationReportBuilder(ml, model, data, new ReportOptions
            {
                LabelColumn = ReportTestModels.LabelColumn,
                Rows = [0, 1, 2],
                Title = "Report on <i>untrusted</i> data",
                DataSource = ReportTestModels.ImageCategory + ".csv",
            })
            .AddShap(new LinearShapStage().Fit(model, data))
            .AddLime(new LinearLimeStage(x => x[0] > 0 ? 0.3f : 0.9f).Fit(model, data))
            .AddPermutationImportance("AUC", 0.9, slots.Select((name, i) =>
                new FeatureImportanceEntry(name, 0.1 / (i + 1), 0.01, 0.005, 0.1 / (i + 1) - 0.01, 0.1 / (i + 1) + 0.01, [0.1 / (i + 1)])))
            .Build();
    }
}
