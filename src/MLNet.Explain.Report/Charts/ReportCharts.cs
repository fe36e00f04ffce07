using MLNet.Explain.Report.Charts;

namespace MLNet.Explain.Report;

/// <summary>A chart of the report: its entry in explanations.json and its SVG image.</summary>
public sealed record RenderedChart(ChartFile File, string Svg);

/// <summary>Draws every chart a report document calls for; ids are stable so the HTML and tools can find them.</summary>
internal static class ReportCharts
{
    public const string Importance = "importance";
    public const string ShapImportance = "shap-importance";
    public const string ShapSummary = "shap-summary";
    public const string ShapAdditivity = "shap-additivity";
    public const string LimeFidelity = "lime-fidelity";

    public static string Dependence(int rank) => $"dependence-{rank}";
    public static string RowWaterfall(long row) => $"row-{row}-waterfall";
    public static string RowLime(long row) => $"row-{row}-lime";

    public static IReadOnlyList<RenderedChart> Render(ReportDocument report, ReportOptions options)
    {
        var charts = new List<RenderedChart>();
        void Add(string id, string title, string svg) => charts.Add(new RenderedChart(new ChartFile(id, title, $"charts/{id}.svg"), svg));

        if (report.PermutationImportance is { Available: true } importance)
        {
            string title = $"Permutation importance (drop in {importance.Metric}, 95% CI)";
            Add(Importance, title, BarChart.Render(title,
                importance.Features.Take(options.TopFeatures).Select(f => new Bar(f.Name, f.Mean, Palette.Neutral, f.Ci95Low, f.Ci95High,
                    $"{f.Name}: {Markup.Number(f.Mean)} (95% CI {Markup.Number(f.Ci95Low)} to {Markup.Number(f.Ci95High)})")).ToList(),
                $"Decrease in {importance.Metric} when the feature is shuffled"));
        }

        var shap = report.Shap;
        if (shap.Available)
        {
            var top = shap.MeanAbs.Take(options.TopFeatures).ToList();
            string output = shap.Output ?? "output";
            Add(ShapImportance, "Mean |SHAP value|", BarChart.Render("Mean |SHAP value|",
                top.Select(f => new Bar(f.Name, f.Value, Palette.Neutral)).ToList(), $"Mean |SHAP value| (average impact on {output})"));

            var index = shap.FeatureNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
            var columns = top.Select(f => index[f.Name]).ToList();
            Add(ShapSummary, "SHAP summary", Beeswarm.Render("SHAP summary",
                top.Select(f => f.Name).ToList(),
                columns.Select(c => shap.Values.Select(row => row[c]).ToArray()).ToList(),
                columns.Select(c => shap.FeatureValues.Select(row => row[c]).ToArray()).ToList(),
                $"SHAP value (impact on {output})"));

            for (int rank = 0; rank < Math.Min(options.DependencePlots, top.Count); rank++)
            {
                int c = columns[rank];
                string title = $"Dependence: {top[rank].Name}";
                var points = shap.Values.Select((row, r) => new Point(shap.FeatureValues[r][c], row[c], Palette.BySign(row[c]))).ToList();
                Add(Dependence(rank + 1), title, ScatterChart.Render(title, points, top[rank].Name, $"SHAP value for {top[rank].Name}"));
            }
        }

        foreach (var row in report.Rows)
        {
            if (row.Shap is { } rowShap)
            {
                string title = $"Row {row.Index}: SHAP waterfall";
                Add(RowWaterfall(row.Index), title,
                    Waterfall.Render(title, rowShap.BaseValue, rowShap.Output, rowShap.Contributions, shap.Output ?? "output", options.WaterfallFeatures));
            }
            if (row.Lime is { } rowLime)
            {
                string explained = rowLime.Class is { } explainedClass ? $" for class {explainedClass}" : "";
                string title = $"Row {row.Index}: LIME weights{explained} (fidelity {Markup.Number(rowLime.Score)})";
                Add(RowLime(row.Index), title, BarChart.Render(title,
                    rowLime.Weights.Take(options.WaterfallFeatures).Select(w => new Bar(w.Condition ?? w.Name, w.Value, Palette.BySign(w.Value))).ToList(),
                    "Weight in the local linear surrogate"));
            }
        }

        if (report.Quality.ShapAdditivity is { } additivity && shap.Available)
        {
            var tolerance = additivity.Tolerance;
            var points = shap.Outputs.Select((output, r) =>
            {
                double sum = shap.BaseValues[r] + shap.Values[r].Sum();
                bool ok = Math.Abs(sum - output) <= tolerance * Math.Max(1, Math.Abs(output));
                return new Point(output, sum, ok ? Palette.Neutral : Palette.Positive);
            }).ToList();
            Add(ShapAdditivity, "SHAP additivity check", ScatterChart.Render("SHAP additivity check", points,
                $"Model {shap.Output ?? "output"}", "Base value + sum of SHAP values", identityLine: true));
        }

        if (report.Quality.LimeFidelity is { } fidelity)
        {
            var bars = report.Rows.Where(r => r.Lime is not null)
                .Select(r => new Bar($"Row {r.Index}", r.Lime!.Score, r.Lime.Score >= fidelity.Threshold ? Palette.Neutral : Palette.Warning))
                .ToList();
            Add(LimeFidelity, "LIME fidelity per explained row", BarChart.Render("LIME fidelity per explained row", bars,
                "Fidelity score (weighted R² of the surrogate)", fidelity.Threshold, $"threshold {Markup.Number(fidelity.Threshold)}"));
        }
        return charts;
    }
}
