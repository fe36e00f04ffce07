using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Cli;

/// <summary>
/// Loads what every command works on: a model saved with its input schema
/// (<c>mlContext.Model.Save(model, inputSchema, path)</c>) and CSV files whose header names the schema's columns.
/// </summary>
public static class ModelInput
{
    /// <summary>Loads <paramref name="path"/> and the input schema saved with it.</summary>
    public static (ITransformer Model, DataViewSchema InputSchema) LoadModel(MLContext mlContext, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        var model = mlContext.Model.Load(path, out var inputSchema);
        if (inputSchema is null || inputSchema.Count == 0)
            throw new InvalidDataException(
                $"Model '{path}' was saved without its input schema; save it with mlContext.Model.Save(model, data.Schema, path) so CSV columns can be matched by name.");
        return (model, inputSchema);
    }

    /// <summary>
    /// Reads a CSV (comma-separated, header row, quotes allowed) whose header names the columns of
    /// <paramref name="inputSchema"/>; columns are matched by header name, extra CSV columns are ignored.
    /// </summary>
    /// <param name="optional">Schema columns the CSV may lack (e.g. the label when only predicting).</param>
    public static IDataView LoadCsv(MLContext mlContext, string path, DataViewSchema inputSchema, IReadOnlyCollection<string>? optional = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        var header = ReadHeader(path);
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < header.Count; i++)
            position.TryAdd(header[i], i);

        var columns = new List<TextLoader.Column>();
        var missing = new List<string>();
        foreach (var column in inputSchema.Where(c => !c.IsHidden))
        {
            if (!position.TryGetValue(column.Name, out int index))
            {
                if (optional?.Contains(column.Name) != true) missing.Add(column.Name);
                continue;
            }
            if (column.Type is VectorDataViewType)
                throw new InvalidDataException(
                    $"Model input column '{column.Name}' is a vector ({column.Type}); a CSV column holds one value, so the model must take scalar input columns.");
            columns.Add(new TextLoader.Column(column.Name, KindOf(column), index));
        }
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"'{path}' has no column {string.Join(", ", missing.Select(m => $"'{m}'"))} that the model reads. Its header: {string.Join(", ", header)}.");

        return mlContext.Data.LoadFromTextFile(path, new TextLoader.Options
        {
            Columns = columns.ToArray(),
            HasHeader = true,
            Separators = [','],
            AllowQuoting = true,
            TrimWhitespace = true,
        });
    }

    /// <summary>
    /// The rows of a CSV for explaining with <paramref name="model"/>: every input column the CSV has (the label and
    /// other columns the model does not read may be absent), checked to be enough for the model.
    /// </summary>
    public static IDataView LoadRowsFor(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        var rows = LoadCsv(mlContext, path, inputSchema, optional: inputSchema.Select(c => c.Name).ToArray());
        try
        {
            model.GetOutputSchema(rows.Schema);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            var absent = inputSchema.Where(c => !c.IsHidden && rows.Schema.GetColumnOrNull(c.Name) is null).Select(c => $"'{c.Name}'");
            throw new InvalidDataException($"'{path}' lacks columns the model reads (absent: {string.Join(", ", absent)}). {e.Message}", e);
        }
        return rows;
    }

    private static DataKind KindOf(DataViewSchema.Column column) => column.Type.RawType switch
    {
        var t when t == typeof(float) => DataKind.Single,
        var t when t == typeof(double) => DataKind.Double,
        var t when t == typeof(bool) => DataKind.Boolean,
        var t when t == typeof(int) => DataKind.Int32,
        var t when t == typeof(long) => DataKind.Int64,
        var t when t == typeof(uint) => DataKind.UInt32,
        var t when t == typeof(ReadOnlyMemory<char>) => DataKind.String,
        _ => throw new InvalidDataException($"Model input column '{column.Name}' has type {column.Type}, which cannot be read from CSV."),
    };

    /// <summary>The header's field names, honouring double quotes.</summary>
    private static IReadOnlyList<string> ReadHeader(string path)
    {
        using var reader = new StreamReader(path);
        var line = reader.ReadLine() ?? throw new InvalidDataException($"'{path}' is empty; a header row naming the columns is expected.");
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString().Trim()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString().Trim());
        return fields;
    }
}
