using System.CommandLine;
using Microsoft.ML;

namespace MLNet.Explain.Cli.Commands;

/// <summary><c>mlnet-explain importance</c>: permutation feature importance of a saved ML.NET model on a data file.</summary>
internal static class ImportanceCommand
{
    public static Command Create()
    {
        var modelData = new ModelDataOptions();
        var label = new Option<string>("--label") { Description = "Label column (as the model's output carries it).", Required = true };
        var by = new Option<string>("--by") { Description = "What to permute: columns (raw input columns through the whole pipeline), slots (feature-vector slots) or groups (slots grouped by the column they came from).", DefaultValueFactory = _ => "columns" };
        by.AcceptOnlyFromAmong("columns", "slots", "groups");
        var repeats = new Option<int>("--repeats") { Description = "Permutations per feature.", DefaultValueFactory = _ => 5 };
        var metric = new Option<string?>("--metric") { Description = "ML.NET metric of the model's task, e.g. AUC, Accuracy, F1Score, LogLoss, MicroAccuracy, MacroAccuracy, RSquared, RMSE, MAE (default: AUC, MicroAccuracy or RSquared)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the permutations.", DefaultValueFactory = _ => 0 };
        var maxRows = new Option<int?>("--max-rows") { Description = "Evaluate on a random sample of at most this many rows (default: all)." };
        var parallelism = new Option<int>("--parallelism") { Description = "Permutations evaluated at once (-1: all cores).", DefaultValueFactory = _ => -1 };
        var output = new Option<FileInfo>("--out") { Description = "Result file: .json or .csv.", Required = true };

        var command = new Command("importance",
            "Permutation feature importance of a saved ML.NET model: how much the metric drops when each feature is shuffled.\n" +
            "Example:\n  mlnet-explain importance --model model.zip --data data.csv --label Malignant --by columns --repeats 5 --metric AUC --out importance.json")
        {
            label, by, repeats, metric, seed, maxRows, parallelism, output,
        };
        foreach (var option in modelData.All)
            command.Options.Add(option);
        command.Validators.Add(result =>
        {
            if (result.GetValue(output) is { } file && Path.GetExtension(file.Name).ToLowerInvariant() is not (".json" or ".csv"))
                result.AddError($"--out must name a .json or .csv file, not '{file.Name}'.");
        });

        command.SetAction(parse =>
        {
            try
            {
                int seedValue = parse.GetValue(seed);
                var mlContext = new MLContext(seedValue);
                var (model, data) = modelData.Load(mlContext, parse);
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
                var result = mlContext.Explain().PermutationImportance(options).Fit(model, data).Result;
                var file = parse.GetValue(output)!;
                result.Save(file.FullName);
                Print(result);
                Console.WriteLine($"Wrote {result.Features.Count} features to {file.FullName}.");
                return 0;
            }
            catch (Exception error) when (error is ArgumentException or InvalidDataException or NotSupportedException or FileNotFoundException or InvalidOperationException or FormatException)
            {
                Console.Error.WriteLine($"error: {error.Message}");
                return 1;
            }
        });
        return command;
    }

    private static void Print(PermutationImportanceResult result)
    {
        Console.WriteLine($"{result.Metric} baseline {result.Baseline:G6} on {result.RowCount} rows; importance = loss of {result.Metric} when permuted ({result.Repeats} repeats, seed {result.Seed}).");
        int width = Math.Max(7, result.Features.Take(15).Max(f => f.Name.Length));
        Console.WriteLine($"{"rank",4}  {"feature".PadRight(width)}  {"mean",10}  {"95% CI",23}");
        foreach (var (feature, rank) in result.Features.Take(15).Select((f, i) => (f, i + 1)))
            Console.WriteLine($"{rank,4}  {feature.Name.PadRight(width)}  {feature.Mean,10:G4}  [{feature.Ci95Low,10:G4}, {feature.Ci95High,10:G4}]");
        if (result.Features.Count > 15)
            Console.WriteLine($"      ... {result.Features.Count - 15} more in the output file");
    }
}
