using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Cli.Commands;

/// <summary>
/// <c>mlnet-explain shap</c>: SHAP values of every row of a CSV for a saved model, one output row per input row:
/// <c>Row</c>, one column per feature (its SHAP value), <c>BaseValue</c>, <c>Output</c> (= BaseValue + Σ values).
/// </summary>
internal static class ShapCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model saved with its input schema (mlContext.Model.Save(model, data.Schema, path)).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV with a header row: the rows to explain.", Required = true };
        var output = new Option<string>("--out") { Description = "CSV to write: Row, one SHAP value column per feature, BaseValue, Output.", Required = true };
        var background = new Option<string?>("--background") { Description = "CSV of reference rows (typically training data): TreeSHAP's covers, the linear means, Kernel SHAP's background. Default: --data." };
        var algorithm = new Option<string>("--algorithm") { Description = "auto (exact tree or linear SHAP when the model allows, else Kernel SHAP), tree, kernel or linear.", DefaultValueFactory = _ => "auto" };
        algorithm.AcceptOnlyFromAmong("auto", "tree", "kernel", "linear");
        var className = new Option<string?>("--class") { Description = "Multiclass models: the class whose values are written (default: each row's predicted class)." };
        var explained = new Option<string>("--output") { Description = "raw (the margin or prediction; log(Score) for Tweedie/Poisson) or probability (a calibrated binary classifier's probability, through --link).", DefaultValueFactory = _ => "raw" };
        explained.AcceptOnlyFromAmong("raw", "probability");
        var link = new Option<string>("--link") { Description = "identity or logit: what the values add up to (logit: log(p/(1-p)) of the output).", DefaultValueFactory = _ => "identity" };
        link.AcceptOnlyFromAmong("identity", "logit");
        var perturbation = new Option<string>("--perturbation") { Description = "TreeSHAP: path-dependent (covers from the background) or interventional (averaged over the summarized background).", DefaultValueFactory = _ => "path-dependent" };
        perturbation.AcceptOnlyFromAmong("path-dependent", "interventional");
        var samples = new Option<int?>("--samples") { Description = "Kernel SHAP coalitions per row (default 2M + 2048 for M features)." };
        var maxBackground = new Option<int>("--max-background") { Description = "Background rows Kernel SHAP and interventional TreeSHAP keep (weighted k-means summary).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of Kernel SHAP's sampling and the background summary.", DefaultValueFactory = _ => 0 };
        var withClass = new Option<bool>("--with-class") { Description = "Multiclass models: add a last column Class, the class explained in each row." };

        var command = new Command("shap",
            "SHAP values of each row of a CSV: exact TreeSHAP for FastTree/FastForest/LightGBM, exact linear SHAP for linear models and GAMs, Kernel SHAP for any other model.")
        {
            model, data, output, background, algorithm, className, explained, link, perturbation, samples, maxBackground, seed, withClass,
        };
        command.SetAction(parse =>
        {
            int seedValue = parse.GetValue(seed);
            var mlContext = new MLContext(seedValue);
            var (loaded, inputSchema) = ModelInput.LoadModel(mlContext, parse.GetRequiredValue(model));
            var rows = ModelInput.LoadRowsFor(mlContext, loaded, inputSchema, parse.GetRequiredValue(data));
            var fitData = parse.GetValue(background) is { } backgroundPath ? ModelInput.LoadRowsFor(mlContext, loaded, inputSchema, backgroundPath) : rows;
            var options = new ShapOptions
            {
                Algorithm = parse.GetValue(algorithm) switch
                {
                    "tree" => ShapAlgorithmKind.Tree,
                    "kernel" => ShapAlgorithmKind.Kernel,
                    "linear" => ShapAlgorithmKind.Linear,
                    _ => ShapAlgorithmKind.Auto,
                },
                ClassName = parse.GetValue(className),
                Output = parse.GetValue(explained) == "probability" ? ShapOutput.Probability : ShapOutput.Raw,
                Link = parse.GetValue(link) == "logit" ? ShapLink.Logit : ShapLink.Identity,
                TreePerturbation = parse.GetValue(perturbation) == "interventional" ? TreeShapPerturbation.Interventional : TreeShapPerturbation.PathDependent,
                NumberOfSamples = parse.GetValue(samples),
                MaxBackgroundRows = parse.GetValue(maxBackground),
                Seed = seedValue,
            };
            var shap = mlContext.Explain().Shap(options).Fit(loaded, fitData);
            var outputPath = parse.GetRequiredValue(output);
            long count = Write(shap, rows, outputPath, parse.GetValue(withClass));
            var console = parse.InvocationConfiguration.Output;
            console.WriteLine($"{shap.Algorithm} SHAP: BaseValue + Σ values = Output = {shap.ExplainedOutput}.");
            console.WriteLine($"Wrote {count} explained rows to {outputPath}.");
            return 0;
        });
        return command.WithExamples(
            "mlnet-explain shap --model model.zip --data rows.csv --out shap.csv",
            "mlnet-explain shap --model model.zip --data rows.csv --background train.csv --algorithm kernel --samples 500 --out shap.csv",
            "mlnet-explain shap --model wine.zip --data rows.csv --background train.csv --class class_1 --out shap.csv",
            "mlnet-explain shap --model model.zip --data rows.csv --background train.csv --output probability --link logit --out shap.csv");
    }

    private static long Write(ShapTransformer shap, IDataView rows, string path, bool withClass)
    {
        var explained = shap.Transform(rows);
        bool hasClass = withClass && explained.Schema.GetColumnOrNull(ShapTransformer.ClassColumn) is not null;
        var header = new List<string> { "Row" };
        header.AddRange(shap.FeatureNames);
        header.AddRange(["BaseValue", "Output"]);
        if (hasClass) header.Add("Class");
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidDataException($"A feature slot is named '{duplicate.Key}', like a column the shap command writes; rename the feature.");

        var read = new List<DataViewSchema.Column>
        {
            explained.Schema[ShapTransformer.ValuesColumn], explained.Schema[ShapTransformer.BaseValueColumn], explained.Schema[ShapTransformer.OutputColumn],
        };
        if (hasClass) read.Add(explained.Schema[ShapTransformer.ClassColumn]);

        using var writer = new StreamWriter(path);
        writer.WriteLine(string.Join(',', header.Select(CsvCells.Quote)));
        using var cursor = explained.GetRowCursor(read);
        var values = cursor.GetGetter<VBuffer<float>>(read[0]);
        var baseValue = cursor.GetGetter<float>(read[1]);
        var outputValue = cursor.GetGetter<float>(read[2]);
        var explainedClass = hasClass ? cursor.GetGetter<ReadOnlyMemory<char>>(read[3]) : null;
        VBuffer<float> valueBuffer = default;
        float baseCell = 0, outputCell = 0;
        ReadOnlyMemory<char> classCell = default;
        long row = 0;
        while (cursor.MoveNext())
        {
            values(ref valueBuffer);
            baseValue(ref baseCell);
            outputValue(ref outputCell);
            var cells = new List<string>(header.Count) { row.ToString(CultureInfo.InvariantCulture) };
            cells.AddRange(valueBuffer.DenseValues().Select(CsvCells.Number));
            cells.AddRange([CsvCells.Number(baseCell), CsvCells.Number(outputCell)]);
            if (explainedClass is not null)
            {
                explainedClass(ref classCell);
                cells.Add(CsvCells.Quote(classCell.ToString()));
            }
            writer.WriteLine(string.Join(',', cells));
            row++;
        }
        return row;
    }
}
