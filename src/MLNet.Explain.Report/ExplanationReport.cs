using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.ML;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Report;

/// <summary>
/// A model audit report: the <see cref="Document"/> (what explanations.json holds) and its charts. Build one with
/// <see cref="ExplanationReportBuilder"/> from fitted explanation stages; save it as a self-contained HTML page, as JSON,
/// or both with the charts as SVG files (<see cref="Save"/>).
/// </summary>
public sealed class ExplanationReport
{
    public const string HtmlFileName = "index.html";
    public const string JsonFileName = "explanations.json";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    internal ExplanationReport(ReportDocument document, IReadOnlyList<RenderedChart> charts)
    {
        Document = document;
        Charts = charts;
    }

    public ReportDocument Document { get; }

    /// <summary>
    /// Fits the explanation stages with defaults suited to a report and builds it: permutation importance of the raw
    /// input columns on <paramref name="data"/> (5 repeats, the task's default metric), SHAP (the exact algorithm the
    /// model allows; <paramref name="background"/> defines "absent" features) and LIME (its sampling statistics come from
    /// <paramref name="background"/>), explaining <paramref name="data"/>. When <paramref name="background"/> is null,
    /// <paramref name="data"/> serves as background. A method that cannot explain this model is shown as unavailable with
    /// the reason. For control over each stage, fit them yourself and use <see cref="ExplanationReportBuilder"/>.
    /// </summary>
    public static ExplanationReport Create(MLContext mlContext, ITransformer model, IDataView data, ReportOptions options,
        IDataView? background = null, IProgress<ReportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var builder = new ExplanationReportBuilder(mlContext, model, data, options);
        var reference = background ?? data;

        // Permutation importance is the long part of a report (features x repeats scoring passes): it gets the first
        // half of the progress bar, the rest of the report the second half.
        const double importanceShare = 0.5;
        var importanceOptions = new PermutationImportanceOptions
        {
            LabelColumnName = options.LabelColumn,
            Level = ImportanceLevel.Columns,
            Progress = progress is null ? null : new Forward<PermutationImportanceProgress>(p =>
                progress.Report(new ReportProgress("Permutation importance", importanceShare * p.Completed / Math.Max(1, p.Total)))),
            CancellationToken = cancellationToken,
        };
        if (TryFit(() => mlContext.Explain().PermutationImportance(importanceOptions).Fit(model, data), out var importance, out var importanceError))
            builder.AddPermutationImportance(importance);
        else
            builder.MarkUnavailable(ReportMethod.PermutationImportance, $"Permutation importance could not be computed: {importanceError}");
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new ReportProgress("Fitting SHAP", importanceShare));
        if (TryFit(() => mlContext.Explain().Shap(new ShapOptions { BackgroundData = background }).Fit(model, data), out var shap, out var shapError))
            builder.AddShap(shap);
        else
            builder.MarkUnavailable(ReportMethod.Shap, $"SHAP cannot explain this model: {shapError}");
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new ReportProgress("Fitting LIME", importanceShare));
        if (TryFit(() => mlContext.Explain().Lime().Fit(model, reference), out var lime, out var limeError))
            builder.AddLime(lime);
        else
            builder.MarkUnavailable(ReportMethod.Lime, $"LIME cannot explain this model: {limeError}");

        var rest = progress is null ? null
            : new Forward<ReportProgress>(p => progress.Report(p with { Fraction = importanceShare + (1 - importanceShare) * p.Fraction }));
        return builder.Build(rest, cancellationToken);
    }

    /// <summary>Passes progress on synchronously (<see cref="Progress{T}"/> would post it to the thread pool, out of order).</summary>
    private sealed class Forward<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static bool TryFit<T>(Func<T> fit, [NotNullWhen(true)] out T? stage, [NotNullWhen(false)] out string? error) where T : class
    {
        try
        {
            stage = fit();
            error = null;
            return true;
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or InvalidOperationException)
        {
            stage = null;
            error = e.Message;
            return false;
        }
    }


    /// <summary>The charts, each with its SVG and its file name relative to the output folder.</summary>
    public IReadOnlyList<RenderedChart> Charts { get; }

    public string ToHtml() => HtmlRenderer.Render(Document, Charts);

    public string ToJson() => ReportJson.Serialize(Document);

    /// <summary>Writes the self-contained HTML page (charts inline) to <paramref name="path"/>.</summary>
    public void SaveHtml(string path) => Write(path, ToHtml());

    /// <summary>Writes the report's JSON (schema: docs/report.md) to <paramref name="path"/>.</summary>
    public void SaveJson(string path) => Write(path, ToJson());

    /// <summary>Writes index.html, explanations.json and charts/*.svg into <paramref name="folder"/> (created if needed).</summary>
    /// <returns>The paths written.</returns>
    public IReadOnlyList<string> Save(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var written = new List<string> { Path.Combine(folder, HtmlFileName), Path.Combine(folder, JsonFileName) };
        SaveHtml(written[0]);
        SaveJson(written[1]);
        foreach (var chart in Charts)
        {
            var path = Path.Combine(folder, chart.File.File);
            Write(path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + chart.Svg);
            written.Add(path);
        }
        return written;
    }

    private static void Write(string path, string content)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        File.WriteAllText(path, content, Utf8);
    }
}
