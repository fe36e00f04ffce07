using System.CommandLine;
using Microsoft.ML;

namespace MLNet.Explain.Cli.Commands;

/// <summary><c>mlnet-explain importance</c>: permutation feature importance of a saved ML.NET model on a CSV file.</summary>
internal static class ImportanceCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model saved with its input schema (mlContext.Model.Save(model, data.Schema, path)).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV with a header row; columns are matched to the model's input schema by name.", Required = true };
        var label = new Option<string>("--label") { Description = "Label column (as the model's output carries it).", Required = true };
        var by = new Option<string>("--by") { Description = "What to permute: columns (raw input columns, through the whole pipeline), slots (feature-vector slots) or groups (slots grouped by the column they came from).", DefaultValueFactory = _ => "columns" };
        by.AcceptOnlyFromAmong("columns", "slots", "groups");
        var repeats = new Option<int>("--repeats") { Description = "Permutations per feature.", DefaultValueFactory = _ => 5 };
        var metric = new Option<string?>("--metric") { Description = "ML.NET metric of the model's task, e.g. AUC, Accuracy, F1Score, LogLoss, MicroAccuracy, MacroAccuracy, RSquared, RMSE, MAE (default: AUC, MicroAccuracy or RSquared)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the permutations.", DefaultValueFactory = _ => 0 };
        var maxRows = new Option<int?>("--max-rows") { Description = "Evaluate on a random sample of at most this many rows (default: all)." };
        var parallelism = new Option<int>("--parallelism") { Description = "Permutations evaluated at once (-1: all cores).", DefaultValueFactory = _ => -1 };
        var output = new Option<string>("--out") { Description = "Result file: .json or .csv.", Required = true };

        var command = new Command("importance",
            "Permutation feature importance of a saved ML.NET model: how much the metric drops when each feature is shuffled.")
        {
            model, data, label, by, repeats, metric, seed, maxRows, parallelism, output,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(output) is { } file && Path.GetExtension(file).ToLowerInvariant() is not (".json" or ".csv"))
                result.AddError($"--out must name a .json or .csv file, not '{file}'.");
        });

        command.SetAction(parse =>
        {
            int seedValue = parse.GetValue(seed);
            var mlContext = new MLContext(seedValue);
            var (loaded, inputSchema) = ModelInput.LoadModel(mlContext, parse.GetValue(model)!);
            var rows = ModelInput.LoadCsv(mlContext, parse.GetValue(data)!, inputSchema);
            var options = new PermutationImportanceOptions
            {
                LabelColumnName = parse.GetValue(label)!,
                Level = parse.GetValue(by) switch { "slots" => ImportanceLevel.Slots, "groups" => ImportanceLevel.Groups, _ => ImportanceLevel.Columns },
                Repeats = parse.GetValue(repeats),
                Metric = parse.GetValue(metric),
                Seed = seedValue,
                MaxRows = parse.GetValue(maxRows),
                MaxDegreeOfParallelism = parse.GetValue(parallelism),
            };
            PermutationImportanceResult result;
            using (var progress = ConsoleProgress.ForConsole())
            {
                options.Progress = new Progress<PermutationImportanceProgress>(p => progress.Report("Permuting features", (double)p.Completed / p.Total));
                result = mlContext.Explain().PermutationImportance(options).Fit(loaded, rows).Result;
            }
            var file = Path.GetFullPath(parse.GetValue(output)!);
            result.Save(file);
            Print(result);
            Console.WriteLine($"Wrote {result.Features.Count} features to {file}.");
            return 0;
        });
        return command.WithExamples(
            "mlnet-explain importance --model model.zip --data data.csv --label Malignant --out importance.json",
            "mlnet-explain importance --model model.zip --data data.csv --label Price --by slots --metric RMSE --repeats 10 --out importance.csv");
    }

    private static void Print(PermutationImportanceResult result)
    {
        Console.WriteLine($"{result.Metric} baseline {result.Baseline:G6} on {result.RowCount} rows; importance = loss of {result.Metric} when permuted ({result.Repeats} repeats, seed {result.Seed}).");
        var top = result.Features.Take(15).ToList();
        int width = Math.Max(7, top.Max(f => f.Name.Length));
        Console.WriteLine($"{"rank",4}  {"feature".PadRight(width)}  {"mean",10}  95% CI");
        foreach (var (feature, rank) in top.Select((f, i) => (f, i + 1)))
            Console.WriteLine($"{rank,4}  {feature.Name.PadRight(width)}  {feature.Mean,10:G4}  [{feature.Ci95Low:G4}, {feature.Ci95High:G4}]");
        if (result.Features.Count > top.Count)
            Console.WriteLine($"      ... {result.Features.Count - top.Count} more in the output file");
    }
}
