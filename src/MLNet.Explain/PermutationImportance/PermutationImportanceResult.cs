using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>The importance of one feature (slot, group or column) over the repeats.</summary>
public sealed class FeatureImportance
{
    internal FeatureImportance(string name, IReadOnlyList<string> members, IReadOnlyList<double> values)
    {
        Name = name;
        Members = members;
        Values = values;
        (Mean, StdDev, StdErr, Ci95Low, Ci95High) = Statistics.Summarize(values);
    }

    public string Name { get; }

    /// <summary>The slots or columns permuted together for this feature (just the feature itself unless it is a group).</summary>
    public IReadOnlyList<string> Members { get; }

    /// <summary>Importance in each repeat: the metric's loss when the feature is permuted (positive means important).</summary>
    public IReadOnlyList<double> Values { get; }

    public double Mean { get; }

    /// <summary>Sample standard deviation over the repeats (NaN with a single repeat).</summary>
    public double StdDev { get; }

    /// <summary>Standard error of the mean, StdDev / √repeats.</summary>
    public double StdErr { get; }

    /// <summary>Lower end of the two-sided 95% confidence interval of the mean (Student's t, repeats − 1 degrees of freedom).</summary>
    public double Ci95Low { get; }

    public double Ci95High { get; }

    public override string ToString() => $"{Name}: {Mean:G4} ± {StdErr:G2}";
}

/// <summary>The result of a permutation importance run: features ranked by mean importance, most important first.</summary>
public sealed class PermutationImportanceResult
{
    internal PermutationImportanceResult(string metric, bool higherIsBetter, double baseline, ImportanceLevel level, int repeats,
        int rowCount, int seed, IReadOnlyList<FeatureImportance> features)
    {
        Metric = metric;
        HigherIsBetter = higherIsBetter;
        Baseline = baseline;
        Level = level;
        Repeats = repeats;
        RowCount = rowCount;
        Seed = seed;
        Features = features;
    }

    /// <summary>Name of the metric (e.g. AreaUnderRocCurve).</summary>
    public string Metric { get; }

    public bool HigherIsBetter { get; }

    /// <summary>The metric on the unpermuted evaluation rows.</summary>
    public double Baseline { get; }

    public ImportanceLevel Level { get; }
    public int Repeats { get; }

    /// <summary>Number of rows evaluated (after MaxRows sampling).</summary>
    public int RowCount { get; }

    /// <summary>The seed the permutations were drawn from: pass it as Options.Seed to reproduce the run.</summary>
    public int Seed { get; }

    /// <summary>The features, most important first.</summary>
    public IReadOnlyList<FeatureImportance> Features { get; }

    public FeatureImportance this[string name]
        => Features.FirstOrDefault(f => f.Name == name)
           ?? throw new KeyNotFoundException($"No feature '{name}'. Features: {string.Join(", ", Features.Select(f => f.Name))}.");

    /// <summary>
    /// The ranking as an <see cref="IDataView"/>: Rank (1 = most important), Name, Mean, StdDev, StdErr, Ci95Low,
    /// Ci95High and Values (one per repeat).
    /// </summary>
    public IDataView ToDataView()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Rank", NumberDataViewType.Int32);
        builder.AddColumn("Name", TextDataViewType.Instance);
        foreach (var column in new[] { "Mean", "StdDev", "StdErr", "Ci95Low", "Ci95High" })
            builder.AddColumn(column, NumberDataViewType.Double);
        builder.AddColumn("Values", new VectorDataViewType(NumberDataViewType.Double, Repeats));
        var rows = Features.Select((f, i) => new object[]
        {
            i + 1, f.Name, f.Mean, f.StdDev, f.StdErr, f.Ci95Low, f.Ci95High, f.Values.ToArray(),
        }).ToList();
        return new InMemoryDataView(builder.ToSchema(), rows);
    }

    /// <summary>
    /// JSON: <c>{"metric", "baseline", "features": [{"name", "mean", "stdDev", "stdErr", "ci95Low", "ci95High", "values"}]}</c>
    /// (most important first), followed by the run's settings. Undefined statistics (one repeat) are null.
    /// </summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        WriteJson(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public void WriteJson(Stream stream)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("metric", Metric);
        WriteNumber(json, "baseline", Baseline);
        json.WriteStartArray("features");
        foreach (var feature in Features)
        {
            json.WriteStartObject();
            json.WriteString("name", feature.Name);
            WriteNumber(json, "mean", feature.Mean);
            WriteNumber(json, "stdDev", feature.StdDev);
            WriteNumber(json, "stdErr", feature.StdErr);
            WriteNumber(json, "ci95Low", feature.Ci95Low);
            WriteNumber(json, "ci95High", feature.Ci95High);
            json.WriteStartArray("values");
            foreach (var value in feature.Values)
                json.WriteNumberValue(value);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteBoolean("higherIsBetter", HigherIsBetter);
        json.WriteString("level", Level.ToString());
        json.WriteNumber("repeats", Repeats);
        json.WriteNumber("rows", RowCount);
        json.WriteNumber("seed", Seed);
        json.WriteEndObject();
    }

    /// <summary>
    /// CSV with a header: rank,name,mean,stdDev,stdErr,ci95Low,ci95High,value1..valueN (invariant culture, most
    /// important first; undefined statistics are empty cells).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', new[] { "rank", "name", "mean", "stdDev", "stdErr", "ci95Low", "ci95High" }
            .Concat(Enumerable.Range(1, Repeats).Select(r => $"value{r}"))).Append('\n');
        for (int i = 0; i < Features.Count; i++)
        {
            var f = Features[i];
            csv.Append(i + 1).Append(',').Append(CsvField(f.Name));
            foreach (var value in new[] { f.Mean, f.StdDev, f.StdErr, f.Ci95Low, f.Ci95High }.Concat(f.Values))
                csv.Append(',').Append(double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : "");
            csv.Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>Writes JSON or CSV, chosen by the extension of <paramref name="path"/> (.json or .csv).</summary>
    public void Save(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".json" or ".csv"))
            throw new ArgumentException($"Cannot tell the format of '{path}': use a .json or .csv file name.", nameof(path));
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
            Directory.CreateDirectory(folder);
        if (extension == ".json")
        {
            using var stream = File.Create(path);
            WriteJson(stream);
        }
        else
        {
            File.WriteAllText(path, ToCsv());
        }
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value)) json.WriteNumber(name, value);
        else json.WriteNull(name);
    }

    private static string CsvField(string value)
        => value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
