using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Cli.Commands;

/// <summary>
/// <c>mlnet-explain lime</c>: LIME explanations of every row of a CSV for a saved model, one output row per input row:
/// <c>Row</c>, one column per feature (its weight), <c>Intercept</c>, <c>LocalPrediction</c>, <c>Score</c>.
/// </summary>
internal static class LimeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model saved with its input schema (mlContext.Model.Save(model, data.Schema, path)).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV with a header row: the rows to explain.", Required = true };
        var output = new Option<string>("--out") { Description = "CSV to write: Row, one weight column per feature, Intercept, LocalPrediction, Score.", Required = true };
        var className = new Option<string?>("--class") { Description = "Class whose probability is explained (default: each row's predicted class)." };
        var samples = new Option<int>("--samples") { Description = "Perturbed samples per row.", DefaultValueFactory = _ => 5000 };
        var features = new Option<int>("--features") { Description = "Features kept in each surrogate (the other weights are 0).", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of the per-row random samples.", DefaultValueFactory = _ => 0 };
        var background = new Option<string?>("--background") { Description = "CSV of training rows LIME gathers its sampling statistics from (default: --data)." };
        var columns = new Option<string?>("--columns") { Description = "Explain these raw input columns (comma-separated) through the whole model instead of the predictor's feature slots." };
        var text = new Option<string?>("--text") { Description = "Explain the words of this text column; the output then has Words and WordWeights columns (space-separated) instead of one column per feature." };
        var selection = new Option<LimeFeatureSelection>("--selection") { Description = "Feature selection: Auto, Forward, HighestWeights, LassoPath or None.", DefaultValueFactory = _ => LimeFeatureSelection.Auto };
        var noDiscretize = new Option<bool>("--no-discretize") { Description = "Sample continuous features from Gaussians instead of quartile bins (weights per standard deviation)." };
        var withClass = new Option<bool>("--with-class") { Description = "Add a last column Class: the class explained in each row." };

        var command = new Command("lime", "LIME explanations of each row of a CSV: a weighted linear surrogate of the model around the row.")
        {
            model, data, output, className, samples, features, seed, background, columns, text, selection, noDiscretize, withClass,
        };
        command.SetAction(parse =>
        {
            var mlContext = new MLContext(parse.GetValue(seed));
            var (loaded, inputSchema) = ModelInput.LoadModel(mlContext, parse.GetRequiredValue(model));
            var rows = ModelInput.LoadRowsFor(mlContext, loaded, inputSchema, parse.GetRequiredValue(data));
            var training = parse.GetValue(background) is { } backgroundPath ? ModelInput.LoadRowsFor(mlContext, loaded, inputSchema, backgroundPath) : rows;
            var options = new LimeOptions
            {
                Class = parse.GetValue(className),
                NumberOfSamples = parse.GetValue(samples),
                NumberOfFeatures = parse.GetValue(features),
                Seed = parse.GetValue(seed),
                FeatureSelection = parse.GetValue(selection),
                Discretize = !parse.GetValue(noDiscretize),
                TextColumn = parse.GetValue(text),
                Columns = parse.GetValue(columns)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
            };
            var lime = mlContext.Explain().Lime(options).Fit(loaded, training);
            var outputPath = parse.GetRequiredValue(output);
            long count = Write(lime, rows, outputPath, parse.GetValue(withClass));
            parse.InvocationConfiguration.Output.WriteLine($"Wrote {count} explained rows to {outputPath}.");
            return 0;
        });
        return command.WithExamples(
            "mlnet-explain lime --model model.zip --data rows.csv --out lime.csv",
            "mlnet-explain lime --model model.zip --data rows.csv --background train.csv --class True --samples 2000 --features 5 --seed 1 --out lime.csv",
            "mlnet-explain lime --model sentiment.zip --data reviews.csv --text Review --out words.csv");
    }

    private static long Write(LimeTransformer lime, IDataView rows, string path, bool withClass)
    {
        var names = lime.State.OutputNames;
        var explained = lime.Transform(rows);
        bool text = lime.State.Target == LimeTarget.Text;
        bool hasClass = withClass && explained.Schema.GetColumnOrNull(names.Class) is not null;
        var header = new List<string> { "Row" };
        header.AddRange(text ? ["Words", "WordWeights"] : lime.State.Features.Select(f => f.Name));
        header.AddRange(["Intercept", "LocalPrediction", "Score"]);
        if (hasClass) header.Add("Class");

        var read = new List<DataViewSchema.Column>();
        foreach (var name in (text ? new[] { names.Words, names.WordWeights } : [names.Weights]).Concat([names.Intercept, names.LocalPrediction, names.Score]))
            read.Add(explained.Schema[name]);
        if (hasClass) read.Add(explained.Schema[names.Class]);

        using var writer = new StreamWriter(path);
        writer.WriteLine(string.Join(',', header.Select(CsvCells.Quote)));
        using var cursor = explained.GetRowCursor(read);
        var weights = cursor.GetGetter<VBuffer<float>>(explained.Schema[text ? names.WordWeights : names.Weights]);
        var words = text ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(explained.Schema[names.Words]) : null;
        var intercept = cursor.GetGetter<float>(explained.Schema[names.Intercept]);
        var local = cursor.GetGetter<float>(explained.Schema[names.LocalPrediction]);
        var score = cursor.GetGetter<float>(explained.Schema[names.Score]);
        var explainedClass = hasClass ? cursor.GetGetter<ReadOnlyMemory<char>>(explained.Schema[names.Class]) : null;
        VBuffer<float> weightValues = default;
        VBuffer<ReadOnlyMemory<char>> wordValues = default;
        float interceptValue = 0, localValue = 0, scoreValue = 0;
        ReadOnlyMemory<char> classValue = default;
        long row = 0;
        while (cursor.MoveNext())
        {
            weights(ref weightValues);
            intercept(ref interceptValue);
            local(ref localValue);
            score(ref scoreValue);
            var cells = new List<string> { row.ToString(CultureInfo.InvariantCulture) };
            if (words is not null)
            {
                words(ref wordValues);
                cells.Add(CsvCells.Quote(string.Join(' ', wordValues.DenseValues())));
                cells.Add(string.Join(' ', weightValues.DenseValues().Select(CsvCells.Number)));
            }
            else
                cells.AddRange(weightValues.DenseValues().Select(CsvCells.Number));
            cells.AddRange([CsvCells.Number(interceptValue), CsvCells.Number(localValue), CsvCells.Number(scoreValue)]);
            if (explainedClass is not null)
            {
                explainedClass(ref classValue);
                cells.Add(CsvCells.Quote(classValue.ToString()));
            }
            writer.WriteLine(string.Join(',', cells));
            row++;
        }
        return row;
    }
}
