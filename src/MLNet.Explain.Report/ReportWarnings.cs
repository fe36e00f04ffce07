using System.Globalization;

namespace MLNet.Explain.Report;

/// <summary>Plain-language caveats: when the numbers in the report should not be taken at face value.</summary>
internal static class ReportWarnings
{
    public const string CorrelatedFeatures = "correlatedFeatures";
    public const string LowLimeFidelity = "lowLimeFidelity";
    public const string ShapAdditivity = "shapAdditivity";
    public const string ShapSampled = "shapSampled";
    public const string MetricsUnavailable = "metricsUnavailable";

    private const int PairsNamed = 5;

    public static IReadOnlyList<ReportWarning> From(MetricsSection metrics, ShapSection shap, QualitySection quality,
        CorrelationSection correlations, long rowCount)
    {
        var warnings = new List<ReportWarning>();
        if (correlations.Pairs.Count > 0)
        {
            var named = correlations.Pairs.Take(PairsNamed).Select(p => $"{p.First} and {p.Second} (r = {R(p.R)})");
            string more = correlations.Pairs.Count > PairsNamed ? $", and {correlations.Pairs.Count - PairsNamed} more pairs listed under Correlated features" : "";
            warnings.Add(new ReportWarning(CorrelatedFeatures,
                $"{Count(correlations.Pairs.Count, "pair")} of features {(correlations.Pairs.Count == 1 ? "is" : "are")} strongly correlated (|r| > {R(correlations.Threshold)}): {string.Join("; ", named)}{more}. "
                + "Permutation importance is unreliable for such features: shuffling one of them creates rows that never occur in real data, "
                + "and the model can get the same information from its partner, so each may look less important than the pair really is. "
                + "SHAP values may likewise split the credit between them. Judge correlated features as a group.",
                correlations.Pairs.SelectMany(p => new[] { p.First, p.Second }).Distinct().ToList()));
        }

        if (quality.ShapAdditivity is { Violations: > 0 } additivity)
            warnings.Add(new ReportWarning(ShapAdditivity,
                $"The SHAP values of {Count(additivity.Violations, "row")} do not add up to the model's output (largest gap {Markup.Number(additivity.MaxAbsError)}, "
                + $"allowed {R(additivity.Tolerance)} × max(1, |output|)). For those rows the SHAP explanation is not exact: "
                + "the SHAP stage may not support this model exactly, or the background data differs from the model's inputs.",
                []));

        if (quality.LimeFidelity is { LowFidelityRows.Count: > 0 } fidelity)
            warnings.Add(new ReportWarning(LowLimeFidelity,
                $"The LIME surrogate fits the model poorly around {Count(fidelity.LowFidelityRows.Count, "explained row")} "
                + $"(rows {string.Join(", ", fidelity.LowFidelityRows)}: fidelity score below {R(fidelity.Threshold)}). "
                + "A straight line does not describe the model near those rows, so their LIME weights can mislead; prefer the SHAP explanation there.",
                []));

        if (shap.Available && shap.RowIndices.Count < rowCount)
            warnings.Add(new ReportWarning(ShapSampled,
                $"SHAP values were computed for {shap.RowIndices.Count} of {rowCount} rows (evenly spaced, plus the explained rows); the summary and dependence plots show those rows.",
                []));

        if (!metrics.Available)
            warnings.Add(new ReportWarning(MetricsUnavailable, $"No metrics: {metrics.Reason}", []));
        return warnings;
    }

    private static string Count(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private static string R(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
