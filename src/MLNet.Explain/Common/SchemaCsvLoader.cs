using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Loads a delimited text file with a header row as data for a saved model: a TextLoader is built from the model's
/// input schema (<c>mlContext.Model.Load(path, out inputSchema)</c>), matching each schema column to the file's columns by
/// header name, so the file's column order does not matter and extra columns are ignored.
/// </summary>
/// <remarks>
/// A scalar column matches the header of the same name (exact, else case-insensitive). A fixed-size vector column
/// matches the headers named by its slot names when the schema has them, otherwise the header with the column's name
/// and the columns that follow it. Values are parsed with the schema column's type; empty numeric cells are missing (NaN).
/// </remarks>
public static class SchemaCsvLoader
{
    public static IDataView Load(MLContext mlContext, DataViewSchema inputSchema, string path, char separator = ',')
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        var headerLine = File.ReadLines(path).FirstOrDefault()
            ?? throw new InvalidDataException($"Data file '{path}' is empty; a header row naming the columns is expected.");
        var headers = SplitHeader(headerLine.TrimStart('\uFEFF'), separator);

        var columns = new List<TextLoader.Column>();
        var problems = new List<string>();
        foreach (var column in inputSchema.Where(c => !c.IsHidden))
        {
            try
            {
                columns.Add(new TextLoader.Column(column.Name, KindOf(column), IndexesOf(column, headers).Select(i => new TextLoader.Range(i)).ToArray(), KeyCountOf(column)));
            }
            catch (InvalidDataException problem)
            {
                problems.Add(problem.Message);
            }
        }
        if (problems.Count > 0)
            throw new InvalidDataException(
                $"Data file '{path}' does not match the model's input schema: {string.Join(" ", problems)} The file's columns: {string.Join(", ", headers)}.");

        return mlContext.Data.CreateTextLoader(new TextLoader.Options
        {
            Columns = columns.ToArray(),
            HasHeader = true,
            Separators = [separator],
            AllowQuoting = true,
        }).Load(path);
    }

    private static int[] IndexesOf(DataViewSchema.Column column, IReadOnlyList<string> headers)
    {
        int Find(string name)
        {
            int index = headers.ToList().IndexOf(name);
            if (index < 0) index = headers.ToList().FindIndex(h => h.Equals(name, StringComparison.OrdinalIgnoreCase));
            return index;
        }

        if (column.Type is not VectorDataViewType vector)
            return Find(column.Name) is var index and >= 0
                ? [index]
                : throw new InvalidDataException($"Column '{column.Name}' ({column.Type}) has no header of that name.");
        if (!vector.IsKnownSize)
            throw new InvalidDataException($"Column '{column.Name}' is a vector of unknown size, which a text file cannot be matched to.");
        if (column.Annotations.Schema.GetColumnOrNull(SlotNames.SlotNamesKind) is not null
            && SlotNames.Of(column) is var slotNames && slotNames.Select(Find).ToArray() is var bySlot && bySlot.All(i => i >= 0))
            return bySlot;
        int start = Find(column.Name);
        if (start < 0 || start + vector.Size > headers.Count)
            throw new InvalidDataException(
                $"Vector column '{column.Name}' ({vector.Size} values) matches neither headers named by its slot names nor {vector.Size} columns starting at a header '{column.Name}'.");
        return Enumerable.Range(start, vector.Size).ToArray();
    }

    private static DataKind KindOf(DataViewSchema.Column column)
    {
        var raw = (column.Type is VectorDataViewType vector ? vector.ItemType : column.Type).RawType;
        return raw switch
        {
            _ when raw == typeof(float) => DataKind.Single,
            _ when raw == typeof(double) => DataKind.Double,
            _ when raw == typeof(bool) => DataKind.Boolean,
            _ when raw == typeof(ReadOnlyMemory<char>) => DataKind.String,
            _ when raw == typeof(sbyte) => DataKind.SByte,
            _ when raw == typeof(byte) => DataKind.Byte,
            _ when raw == typeof(short) => DataKind.Int16,
            _ when raw == typeof(ushort) => DataKind.UInt16,
            _ when raw == typeof(int) => DataKind.Int32,
            _ when raw == typeof(uint) => DataKind.UInt32,
            _ when raw == typeof(long) => DataKind.Int64,
            _ when raw == typeof(ulong) => DataKind.UInt64,
            _ when raw == typeof(DateTime) => DataKind.DateTime,
            _ when raw == typeof(DateTimeOffset) => DataKind.DateTimeOffset,
            _ when raw == typeof(TimeSpan) => DataKind.TimeSpan,
            _ => throw new InvalidDataException($"Column '{column.Name}' has type {column.Type}, which cannot be read from a text file."),
        };
    }

    private static KeyCount? KeyCountOf(DataViewSchema.Column column)
        => (column.Type is VectorDataViewType vector ? vector.ItemType : column.Type) is KeyDataViewType key ? new KeyCount(key.Count) : null;

    /// <summary>Splits a header row, honouring double-quoted names (with "" for a quote).</summary>
    private static IReadOnlyList<string> SplitHeader(string line, char separator)
    {
        var names = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == separator) { names.Add(current.ToString().Trim()); current.Clear(); }
            else current.Append(c);
        }
        names.Add(current.ToString().Trim());
        return names;
    }
}
