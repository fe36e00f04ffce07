using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using MLNet.Explain.Report;

namespace MLNet.Explain.Cli.Commands;

/// <summary><c>mlnet-explain report</c>: the offline HTML audit report, its JSON and its charts for a saved model and a CSV.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model saved with its input schema (mlContext.Model.Save(model, data.Schema, path)).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV with a header row: the rows the report covers (typically test data).", Required = true };
        var label = new Option<string>("--label") { Description = "Label column of the CSV.", Required = true };
        var background = new Option<string?>("--background") { Description = "CSV of reference rows (typically training data) for SHAP and LIME; default: --data." };
        var rows = new Option<string?>("--rows") { Description = "Rows to explain one by one: 0-based positions, comma-separated (e.g. 0,5,17). Default: the highest, median and lowest model output." };
        var output = new Option<string>("--out") { Description = "Folder for index.html, explanations.json and charts/ (created if needed).", Required = true };
        var title = new Option<string?>("--title") { Description = "Heading of the report." };
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice (permutations, samples).", DefaultValueFactory = _ => 0 };

        var command = new Command("report", "Write an offline HTML report (index.html), explanations.json and the charts (charts/*.svg) for a saved model and a CSV.")
        {
            model, data, label, background, rows, output, title, seed,
        };
        command.SetAction(parse =>
        {
            var mlContext = new MLContext(parse.GetValue(seed));
            var modelPath = parse.GetRequiredValue(model);
            var dataPath = parse.GetRequiredValue(data);
            var (loaded, inputSchema) = ModelInput.LoadModel(mlContext, modelPath);
            var labelColumn = parse.GetRequiredValue(label);
            var testData = ModelInput.LoadCsv(mlContext, dataPath, inputSchema);
            var backgroundData = parse.GetValue(background) is { } backgroundPath
                ? ModelInput.LoadCsv(mlContext, backgroundPath, inputSchema, optional: [labelColumn])
                : null;
            var options = new ReportOptions
            {
                LabelColumn = labelColumn,
                Rows = ParseRows(parse.GetValue(rows)),
                DataSource = dataPath,
                Title = parse.GetValue(title) ?? $"Model explanation report: {Path.GetFileName(modelPath)}",
            };

            ExplanationReport report;
            using (var progress = ConsoleProgress.ForConsole())
            {
                report = ExplanationReport.Create(mlContext, loaded, testData, options, backgroundData,
                    new Progress(p => progress.Report(p.Stage, p.Fraction)));
            }
            var folder = parse.GetRequiredValue(output);
            var written = report.Save(folder);
            var console = parse.InvocationConfiguration.Output;
            console.WriteLine($"Wrote {Path.Combine(folder, ExplanationReport.HtmlFileName)}, {ExplanationReport.JsonFileName} and {written.Count - 2} charts.");
            foreach (var warning in report.Document.Warnings)
                console.WriteLine($"warning ({warning.Code}): {warning.Message}");
            return 0;
        });
        return command.WithExamples(
            "mlnet-explain report --model model.zip --data test.csv --label Label --out report",
            "mlnet-explain report --model model.zip --data test.csv --label Label --background train.csv --rows 0,5,17 --out report");
    }

    /// <summary>Parses "0,5,17" into row positions.</summary>
    internal static IReadOnlyList<long>? ParseRows(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        return text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(part => long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var row)
                ? row
                : throw new FormatException($"--rows: '{part}' is not a row position; expected 0-based positions separated by commas, e.g. 0,5,17."))
            .ToList();
    }

    /// <summary>Forwards progress on the calling thread (System.Progress would post it to the thread pool, out of order).</summary>
    private sealed class Progress(Action<ReportProgress> report) : IProgress<ReportProgress>
    {
        public void Report(ReportProgress value) => report(value);
    }
}
