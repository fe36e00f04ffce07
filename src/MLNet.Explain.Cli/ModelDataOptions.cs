using System.CommandLine;
using Microsoft.ML;

namespace MLNet.Explain.Cli;

/// <summary>
/// The <c>--model model.zip --data data.csv [--separator C]</c> options shared by commands that explain a saved ML.NET
/// model on a data file: the model must be saved with its input schema (<c>mlContext.Model.Save(model, inputSchema, path)</c>);
/// the file's columns are matched to that schema by header name (<see cref="SchemaCsvLoader"/>).
/// </summary>
internal sealed class ModelDataOptions
{
    public Option<FileInfo> Model { get; } = new("--model") { Description = "ML.NET model .zip saved with its input schema (mlContext.Model.Save(model, inputSchema, path)).", Required = true };
    public Option<FileInfo> Data { get; } = new("--data") { Description = "Delimited text file with a header row; columns are matched to the model's input schema by name.", Required = true };
    public Option<char> Separator { get; } = new("--separator") { Description = "Column separator of the data file.", DefaultValueFactory = _ => ',' };

    public IEnumerable<Option> All => [Model, Data, Separator];

    /// <summary>Loads the model and the data file it is applied to.</summary>
    public (ITransformer Model, IDataView Data) Load(MLContext mlContext, ParseResult parse)
    {
        var modelFile = parse.GetValue(Model)!;
        if (!modelFile.Exists) throw new FileNotFoundException($"Model file '{modelFile.FullName}' does not exist.", modelFile.FullName);
        var model = mlContext.Model.Load(modelFile.FullName, out var inputSchema);
        if (inputSchema is null)
            throw new InvalidDataException(
                $"Model '{modelFile.Name}' was saved without its input schema; save it with mlContext.Model.Save(model, data.Schema, path) so data files can be matched to it.");
        return (model, SchemaCsvLoader.Load(mlContext, inputSchema, parse.GetValue(Data)!.FullName, parse.GetValue(Separator)));
    }
}
