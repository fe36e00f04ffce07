using System.Globalization;
using System.Text;

namespace MLNet.Explain.Report;

/// <summary>
/// Renders a report as one self-contained HTML page: inline CSS, inline SVG charts, no script and no external resource
/// (a Content-Security-Policy forbids both, so the page stays inert even if it were tampered with). Every string from
/// the data or the model goes through <see cref="Markup.Escape"/>.
/// </summary>
internal sealed class HtmlRenderer
{
    private const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

    private const int CorrelationsShown = 10;

    private readonly ReportDocument _report;
    private readonly Dictionary<string, RenderedChart> _charts;
    private readonly StringBuilder _html = new();

    private HtmlRenderer(ReportDocument report, IReadOnlyList<RenderedChart> charts)
    {
        _report = report;
        _charts = charts.ToDictionary(c => c.File.Id);
    }

    public static string Render(ReportDocument report, IReadOnlyList<RenderedChart> charts)
        => new HtmlRenderer(report, charts).Render();

    private string Render()
    {
        Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        Raw($"<meta http-equiv=\"Content-Security-Policy\" content=\"{ContentSecurityPolicy}\">\n");
        Raw("<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        Raw("<title>").Text(_report.Title).Raw("</title>\n<style>\n").Raw(Stylesheet.Value).Raw("</style>\n</head>\n<body>\n");
        Header();
        Raw("<main>\n");
        Summary();
        Warnings();
        GlobalImportance();
        ShapSummary();
        Rows();
        Quality();
        CorrelatedFeatures();
        About();
        Raw("</main>\n</body>\n</html>\n");
        return _html.ToString();
    }

    private void Header()
    {
        Raw("<header class=\"top\"><h1>").Text(_report.Title).Raw("</h1><p>");
        Text($"{Describe(_report.Model.Task)} · {_report.Model.Predictor} · {_report.Data.RowCount:N0} rows");
        if (_report.Data.Source is { } source) Text($" from {source}");
        Text($" · generated {_report.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC by {_report.GeneratedBy}");
        Raw("</p></header>\n<nav>");
        foreach (var (id, label) in new[]
                 {
                     ("summary", "Summary"), ("warnings", $"Warnings ({_report.Warnings.Count})"), ("importance", "Global importance"),
                     ("shap", "SHAP summary"), ("rows", "Explained rows"), ("quality", "Explanation quality"),
                     ("correlations", "Correlated features"), ("about", "How to read"),
                 })
            Raw($"<a href=\"#{id}\">").Text(label).Raw("</a>");
        Raw("</nav>\n");
    }

    private void Summary()
    {
        var model = _report.Model;
        var data = _report.Data;
        Open("summary", "Model and data");
        Raw("<div class=\"cards\">");
        Card("Task", Describe(model.Task));
        Card("Model", model.Predictor);
        Card("Rows", data.RowCount.ToString("N0", CultureInfo.InvariantCulture));
        Card("Features", model.FeatureNames.Count.ToString(CultureInfo.InvariantCulture));
        Card("Label", data.LabelColumn);
        Raw("</div>\n");

        Raw("<h3>Metrics on this data</h3>");
        if (_report.Metrics.Available)
        {
            Raw("<p class=\"lead\">Computed by ML.NET's evaluator on the report's data. If this is the training data, they are optimistic.</p>");
            Table(["Metric", "Value", "Better when"], _report.Metrics.Values.Select(m => new[] { Cell(m.Name), Num(m.Value), Cell(m.HigherIsBetter ? "higher" : "lower") }));
        }
        else
        {
            Unavailable(_report.Metrics.Reason);
        }

        if (data.LabelCounts.Count > 0)
        {
            Raw("<h3>Label distribution</h3>");
            Table(["Label value", "Rows", "Share"], data.LabelCounts.Select(c =>
                new[] { Cell(c.Value), Num(c.Count), Num((double)c.Count / Math.Max(1, data.RowCount)) }));
        }

        Raw("<details><summary>Pipeline and input columns</summary>");
        Raw("<p>Pipeline: ").Text(string.Join(" → ", model.Pipeline)).Raw("</p>");
        Raw("<p>The model reads ").Text($"{model.FeatureNames.Count} features from column '{model.FeatureColumn}'").Raw(".</p>");
        if (model.Classes.Count > 0) Raw("<p>Classes: ").Text(string.Join(", ", model.Classes)).Raw("</p>");
        Table(["Column", "Type"], data.Columns.Select(c => new[] { Cell(c.Name), Cell(c.Type) }));
        Raw("</details>\n");
        Close();
    }

    private void Warnings()
    {
        Open("warnings", "Warnings");
        if (_report.Warnings.Count == 0)
            Raw("<p class=\"ok\">No warnings: no strongly correlated features, and the explanations passed their quality checks.</p>");
        foreach (var warning in _report.Warnings)
            Raw("<div class=\"warning\"><strong>").Text(WarningTitle(warning.Code)).Raw("</strong>").Text(warning.Message).Raw("</div>\n");
        Close();
    }

    private void GlobalImportance()
    {
        Open("importance", "Global importance");
        Raw("<h3>Permutation feature importance</h3>");
        var importance = _report.PermutationImportance;
        if (importance.Available)
        {
            Raw("<p class=\"lead\">").Text(
                $"How much {importance.Metric} drops (baseline {Markup.Number(importance.Baseline ?? double.NaN)}) when one feature's values are shuffled across rows, "
                + "averaged over the repeats. Error bars are 95% confidence intervals; an interval that contains 0 means the model does not measurably rely on the feature.")
                .Raw("</p>");
            Chart(ReportCharts.Importance, null);
            Raw("<details><summary>All features</summary>");
            Table(["Feature", "Mean", "95% CI low", "95% CI high", "Std dev"], importance.Features.Select(f =>
                new[] { Cell(f.Name), Num(f.Mean), Num(f.Ci95Low), Num(f.Ci95High), Num(f.StdDev) }));
            Raw("</details>");
        }
        else
        {
            Unavailable(importance.Reason);
        }

        Raw("<h3>Mean |SHAP value|</h3>");
        var shap = _report.Shap;
        if (shap.Available)
        {
            var algorithm = shap.Algorithm is { } name ? $" ({name} SHAP)" : "";
            Raw("<p class=\"lead\">").Text($"The average size of each feature's contribution to the model's {shap.Output}, over {shap.RowIndices.Count} rows{algorithm}.").Raw("</p>");
            Chart(ReportCharts.ShapImportance, null);
            Raw("<details><summary>All features</summary>");
            Table(["Feature", "Mean |SHAP|"], shap.MeanAbs.Select(f => new[] { Cell(f.Name), Num(f.Value) }));
            Raw("</details>");
        }
        else
        {
            Unavailable(shap.Reason);
        }
        Close();
    }

    private void ShapSummary()
    {
        Open("shap", "SHAP summary");
        var shap = _report.Shap;
        if (!shap.Available)
        {
            Unavailable(shap.Reason);
            Close();
            return;
        }
        Raw("<p class=\"lead\">").Text(
            "Each dot is one row. Its position shows how much the feature pushed that row's output up (right) or down (left); "
            + "its colour shows the feature's value in that row (red high, blue low). Features are sorted by mean |SHAP value|.").Raw("</p>");
        Chart(ReportCharts.ShapSummary, null);
        var dependence = _charts.Keys.Where(id => id.StartsWith("dependence-", StringComparison.Ordinal)).ToList();
        if (dependence.Count > 0)
        {
            Raw("<h3>Dependence plots</h3><p class=\"lead\">").Text(
                "How the SHAP value of a top feature changes with the feature's value. A vertical spread at one value means the feature's effect depends on other features (interactions).")
                .Raw("</p><div class=\"grid\">");
            foreach (var id in dependence) Chart(id, null);
            Raw("</div>");
        }
        Close();
    }

    private void Rows()
    {
        Open("rows", "Explained rows");
        Raw("<p class=\"lead\">").Text(
            "Why the model predicted what it did for individual rows. The SHAP waterfall starts from the average output E[f(X)] and adds each feature's contribution until it reaches this row's output f(x). "
            + "LIME fits a simple linear model around the row; its weights are trustworthy only when its fidelity score is high.").Raw("</p>");
        if (_report.Lime is { Available: true, Target: { } target })
            Raw("<p class=\"lead\">").Text($"LIME explains {target}.").Raw("</p>");
        foreach (var row in _report.Rows)
        {
            Raw("<div class=\"row\">");
            Raw($"<h3 id=\"row-{row.Index}\">").Text($"Row {row.Index}").Raw("</h3><p>").Text(DescribePrediction(row)).Raw("</p>");
            if (row.Shap is not null) Chart(ReportCharts.RowWaterfall(row.Index), null);
            else Unavailable(_report.Shap.Reason ?? "No SHAP values for this row.");
            if (row.Lime is { } lime)
            {
                Chart(ReportCharts.RowLime(row.Index), $"Surrogate: intercept {Markup.Number(lime.Intercept)}, local prediction {Markup.Number(lime.LocalPrediction)}, fidelity score {Markup.Number(lime.Score)}"
                    + (lime.Score < _report.Quality.LimeFidelity?.Threshold ? " — low fidelity: do not rely on these weights." : "."));
            }
            else
            {
                Unavailable(_report.Lime.Reason ?? "No LIME explanation for this row.");
            }
            Raw("<details><summary>Feature values and contributions</summary>");
            var shapByName = row.Shap?.Contributions.ToDictionary(c => c.Name, c => c.Value) ?? [];
            var limeByName = row.Lime?.Weights.ToDictionary(w => w.Name, w => w.Value) ?? [];
            Table(["Feature", "Value", "SHAP", "LIME weight"], row.FeatureValues
                .OrderByDescending(f => Math.Abs(shapByName.GetValueOrDefault(f.Name)))
                .Select(f => new[]
                {
                    Cell(f.Name), Num(f.Value),
                    shapByName.TryGetValue(f.Name, out var s) ? Signed(s) : Cell("–"),
                    limeByName.TryGetValue(f.Name, out var w) ? Signed(w) : Cell("–"),
                }));
            Raw("</details></div>\n");
        }
        Close();
    }

    private void Quality()
    {
        Open("quality", "Explanation quality");
        Raw("<h3>SHAP additivity</h3>");
        if (_report.Quality.ShapAdditivity is { } additivity)
        {
            Raw("<p class=\"lead\">").Text(
                "SHAP values are locally accurate when the base value plus the sum of a row's values equals the model's output. Every dot should lie on the dashed line.")
                .Raw("</p>");
            Table(["Rows checked", "Rows off by more than the tolerance", "Largest gap", "Mean gap", "Tolerance"],
                [[Num(additivity.RowsChecked), Num(additivity.Violations), Num(additivity.MaxAbsError), Num(additivity.MeanAbsError), Cell($"{Markup.Number(additivity.Tolerance)} × max(1, |output|)")]]);
            Chart(ReportCharts.ShapAdditivity, null);
        }
        else
        {
            Unavailable(_report.Shap.Reason);
        }

        Raw("<h3>LIME fidelity</h3>");
        if (_report.Quality.LimeFidelity is { } fidelity)
        {
            Raw("<p class=\"lead\">").Text(
                $"The fidelity score is the weighted R² of the surrogate on the sampled neighbourhood: 1 means the linear surrogate matches the model there exactly; below {Markup.Number(fidelity.Threshold)} its weights should not be trusted.")
                .Raw("</p>");
            Table(["Rows explained", "Mean score", "Lowest score", "Rows below threshold"],
                [[Num(fidelity.RowsExplained), Num(fidelity.MeanScore), Num(fidelity.MinScore), Cell(fidelity.LowFidelityRows.Count == 0 ? "none" : string.Join(", ", fidelity.LowFidelityRows))]]);
            Chart(ReportCharts.LimeFidelity, null);
        }
        else
        {
            Unavailable(_report.Lime.Reason);
        }
        Close();
    }

    private void CorrelatedFeatures()
    {
        var correlations = _report.Correlations;
        Open("correlations", "Correlated features");
        Raw("<p class=\"lead\">").Text(
            $"Pairs of features whose Pearson correlation exceeds {Markup.Number(correlations.Threshold)} in absolute value, among {correlations.FeaturesCompared} non-constant features. "
            + "Permutation importance and SHAP values of such features must be read together.").Raw("</p>");
        if (correlations.Pairs.Count == 0)
            Raw("<p class=\"ok\">No strongly correlated pairs.</p>");
        var rows = correlations.Pairs.Select(p => new[] { Cell(p.First), Cell(p.Second), Num(p.R) }).ToList();
        if (rows.Count > 0)
            Table(["Feature", "Feature", "r"], rows.Take(CorrelationsShown));
        if (rows.Count > CorrelationsShown)
        {
            Raw("<details><summary>").Text($"{rows.Count - CorrelationsShown} more pairs").Raw("</summary>");
            Table(["Feature", "Feature", "r"], rows.Skip(CorrelationsShown));
            Raw("</details>");
        }
        Close();
    }

    private void About()
    {
        Open("about", "How to read this report");
        Raw("<ul>");
        foreach (var line in new[]
                 {
                     "Permutation importance is global: it measures how much the model's quality depends on each feature. It is unreliable for strongly correlated features.",
                     "SHAP values are local and additive: for every row, base value + sum of SHAP values = the model's output. Mean |SHAP| ranks features by how much they move predictions, which is not the same as how much they help accuracy.",
                     "LIME explains one row with a linear model fitted on perturbed copies of the row; check its fidelity score before reading its weights.",
                     "Explanations describe the model, not the world: a feature can matter to the model because it is correlated with the true cause.",
                 })
            Raw("<li>").Text(line).Raw("</li>");
        Raw("</ul><p>The same content is in explanations.json next to this page, and each chart is also an SVG file in charts/.</p>");
        Raw("<footer>").Text($"{_report.GeneratedBy} · report schema {_report.SchemaVersion}").Raw("</footer>");
        Close();
    }

    private void Chart(string id, string? caption)
    {
        if (!_charts.TryGetValue(id, out var chart)) return;
        Raw($"<figure id=\"chart-{id}\">").Raw(chart.Svg);
        if (caption is not null) Raw("<figcaption>").Text(caption).Raw("</figcaption>");
        Raw("</figure>\n");
    }

    private string DescribePrediction(RowExplanation row)
    {
        var parts = new List<string>();
        var p = row.Prediction;
        if (p.PredictedLabel is not null) parts.Add($"Predicted: {p.PredictedLabel}");
        if (p.Probability is { } probability) parts.Add($"probability {Markup.Number(probability)}");
        if (p.Score.Count == 1) parts.Add($"score {Markup.Number(p.Score[0])}");
        else if (p.Score.Count > 1) parts.Add($"scores {string.Join(", ", p.Score.Select(Markup.Number))}");
        if (row.Label is not null) parts.Add($"actual {_report.Data.LabelColumn}: {row.Label}");
        return string.Join(" · ", parts);
    }

    private static string Describe(string task) => task switch
    {
        "binaryClassification" => "Binary classification",
        "multiclassClassification" => "Multiclass classification",
        "regression" => "Regression",
        _ => "Ranking",
    };

    private static string WarningTitle(string code) => code switch
    {
        ReportWarnings.CorrelatedFeatures => "Strongly correlated features",
        ReportWarnings.LowLimeFidelity => "Low LIME fidelity",
        ReportWarnings.ShapAdditivity => "SHAP values do not add up",
        ReportWarnings.ShapSampled => "SHAP on a sample of rows",
        ReportWarnings.MetricsUnavailable => "Metrics unavailable",
        _ => code,
    };

    // Table cells are pre-rendered HTML fragments built only by Cell/Num/Signed, which escape their content.
    private readonly record struct TableCell(string Html);

    private static TableCell Cell(string text) => new($"<td class=\"name\">{Markup.Escape(text)}</td>");
    private static TableCell Num(double value) => new($"<td class=\"num\">{Markup.Escape(Markup.Number(value))}</td>");
    private static TableCell Num(long value) => new($"<td class=\"num\">{value.ToString("N0", CultureInfo.InvariantCulture)}</td>");

    private static TableCell Signed(double value)
        => new($"<td class=\"num {(value >= 0 ? "pos" : "neg")}\">{Markup.Escape((value >= 0 ? "+" : "") + Markup.Number(value))}</td>");

    private void Table(string[] headers, IEnumerable<TableCell[]> rows)
    {
        Raw("<table><thead><tr>");
        foreach (var header in headers) Raw("<th>").Text(header).Raw("</th>");
        Raw("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            Raw("<tr>");
            foreach (var cell in row) Raw(cell.Html);
            Raw("</tr>");
        }
        Raw("</tbody></table>\n");
    }

    private void Card(string key, string value)
        => Raw("<div class=\"card\"><div class=\"k\">").Text(key).Raw("</div><div class=\"v\">").Text(value).Raw("</div></div>");

    private void Unavailable(string? reason)
        => Raw("<div class=\"unavailable\">").Text(reason ?? "Not available.").Raw("</div>\n");

    private void Open(string id, string title) => Raw($"<section id=\"{id}\"><h2>").Text(title).Raw("</h2>\n");

    private void Close() => Raw("</section>\n");

    private HtmlRenderer Raw(string html)
    {
        _html.Append(html);
        return this;
    }

    private HtmlRenderer Text(string text)
    {
        _html.Append(Markup.Escape(text));
        return this;
    }

    private static class Stylesheet
    {
        public static readonly string Value = Load();

        private static string Load()
        {
            using var stream = typeof(HtmlRenderer).Assembly.GetManifestResourceStream("MLNet.Explain.Report.report.css")
                ?? throw new InvalidOperationException("The report stylesheet is missing from the assembly.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }
}
