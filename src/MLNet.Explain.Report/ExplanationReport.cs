using System.Text;
using Microsoft.ML;

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
    /// Fits every explanation stage this build has on <paramref name="model"/> with defaults suited to a report
    /// (permutation importance on <paramref name="data"/>, SHAP and LIME with <paramref name="background"/> as the
    /// reference data, or <paramref name="data"/> when null) and builds the report. For control over each stage, fit
    /// them yourself and use <see cref="ExplanationReportBuilder"/>.
    /// </summary>
    public static ExplanationReport Create(MLContext mlContext, ITransformer model, IDataView data, ReportOptions options,
        IDataView? background = null, IProgress<ReportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var builder = new ExplanationReportBuilder(mlContext, model, data, options);
        const string notInBuild = "is not part of this build of MLNet.Explain.";
        builder.MarkUnavailable(ReportMethod.PermutationImportance, $"Permutation importance {notInBuild}")
            .MarkUnavailable(ReportMethod.Shap, $"SHAP {notInBuild}")
            .MarkUnavailable(ReportMethod.Lime, $"LIME {notInBuild}");
        _ = background;
        return builder.Build(progress, cancellationToken);
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
