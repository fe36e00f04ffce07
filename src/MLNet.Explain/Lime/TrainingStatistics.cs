using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Lime;

/// <summary>
/// Gathers the training statistics LIME samples from (the reference's <c>LimeTabularExplainer</c> constructor and
/// <c>QuartileDiscretizer</c>): means and standard deviations, quartile bins with per-bin mean/std/min/max and
/// frequency, category frequencies. Missing values (NaN) in the training data are left out of every statistic.
/// </summary>
internal static class TrainingStatistics
{
    /// <summary>A raw-column feature to gather: its name, the columns it reads and its kind.</summary>
    public sealed record RawFeature(string Name, IReadOnlyList<DataViewSchema.Column> Columns, LimeFeatureKind Kind);

    /// <summary>Statistics of every slot of <paramref name="featureColumn"/> in <paramref name="featurized"/>.</summary>
    public static IReadOnlyList<LimeFeatureStatistics> OfSlots(IDataView featurized, DataViewSchema.Column featureColumn,
        IReadOnlyList<string> slotNames, IReadOnlySet<int> categoricalSlots, int maxRows, int seed)
    {
        var rows = Sample(featurized, [featureColumn], maxRows, seed, values => (float[])values[0]);
        if (rows.Count == 0) throw new ArgumentException("The training data has no rows; LIME gathers its sampling statistics from it.");
        return slotNames.Select((name, slot) => categoricalSlots.Contains(slot)
                ? Categorical(name, [], LimeFeatureKind.Categorical, rows.Select(r => (object)r[slot]))
                : Continuous(name, [], rows.Select(r => (double)r[slot])))
            .ToArray();
    }

    /// <summary>Statistics of raw-column features (a column or a group of columns each).</summary>
    public static IReadOnlyList<LimeFeatureStatistics> OfColumns(IDataView data, IReadOnlyList<RawFeature> features, int maxRows, int seed)
    {
        var columns = features.SelectMany(f => f.Columns).DistinctBy(c => c.Index).ToArray();
        var position = columns.Select((c, i) => (c.Index, i)).ToDictionary(p => p.Index, p => p.i);
        var rows = Sample(data, columns, maxRows, seed, values => values);
        if (rows.Count == 0) throw new ArgumentException("The training data has no rows; LIME gathers its sampling statistics from it.");
        return features.Select(feature =>
        {
            var names = feature.Columns.Select(c => c.Name).ToArray();
            if (feature.Kind == LimeFeatureKind.Continuous)
                return Continuous(feature.Name, names, rows.Select(r => ToDouble(r[position[feature.Columns[0].Index]])));
            return feature.Columns.Count == 1
                ? Categorical(feature.Name, names, feature.Kind, rows.Select(r => r[position[feature.Columns[0].Index]]))
                : Categorical(feature.Name, names, feature.Kind, rows.Select(r => (object)feature.Columns.Select(c => r[position[c.Index]]).ToArray()));
        }).ToArray();
    }

    /// <summary>A plain numeric value (see <see cref="RowValues"/>) as double.</summary>
    public static double ToDouble(object value) => value switch
    {
        float f => f,
        double d => d,
        int i => i,
        long l => l,
        uint u => u,
        _ => throw new ArgumentException($"A value of type {value.GetType().Name} is not a number."),
    };

    /// <summary>A key identifying a categorical value: equal values (arrays element by element) give equal keys.</summary>
    public static string KeyOf(object value) => value switch
    {
        float f => f == 0 ? "0" : f.ToString("R", CultureInfo.InvariantCulture),
        double d => d == 0 ? "0" : d.ToString("R", CultureInfo.InvariantCulture),
        string s => s,
        Array array => "[" + string.Join("\u001F", array.Cast<object>().Select(KeyOf)) + "]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    public static bool IsMissing(object value) => value switch
    {
        float f => float.IsNaN(f),
        double d => double.IsNaN(d),
        _ => false,
    };

    /// <summary>Reservoir sample of up to <paramref name="maxRows"/> rows, repeatable for a seed.</summary>
    private static List<T> Sample<T>(IDataView data, IReadOnlyList<DataViewSchema.Column> columns, int maxRows, int seed, Func<object[], T> convert)
    {
        var random = RowRandom.For(seed, ["LIME training rows"]);
        var rows = new List<T>();
        using var cursor = data.GetRowCursor(columns);
        var readers = columns.Select(c => RowValues.CreateReader(cursor, c)).ToArray();
        long seen = 0;
        while (cursor.MoveNext())
        {
            seen++;
            if (rows.Count < maxRows)
            {
                rows.Add(convert(readers.Select(read => read()).ToArray()));
                continue;
            }
            long slot = (long)(random.NextDouble() * seen);
            if (slot < maxRows)
                rows[(int)slot] = convert(readers.Select(read => read()).ToArray());
        }
        return rows;
    }

    private static LimeFeatureStatistics Continuous(string name, IReadOnlyList<string> columns, IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).ToArray();
        if (sorted.Length == 0)
            throw new ArgumentException($"Feature '{name}' has no training value that is not missing (NaN); LIME cannot learn how to sample it.");
        if (sorted.Any(double.IsInfinity))
            throw new ArgumentException($"Feature '{name}' has an infinite training value; LIME needs finite values to gather its statistics.");
        Array.Sort(sorted);
        double mean = sorted.Average();
        double variance = sorted.Sum(v => (v - mean) * (v - mean)) / sorted.Length;
        double std = variance > 0 ? Math.Sqrt(variance) : 1;

        var edges = new[] { 25.0, 50, 75 }.Select(q => Percentile(sorted, q)).Distinct().ToArray();
        var binValues = Enumerable.Range(0, edges.Length + 1).Select(_ => new List<double>()).ToArray();
        foreach (var v in sorted)
        {
            int bin = 0;
            while (bin < edges.Length && edges[bin] < v) bin++;
            binValues[bin].Add(v);
        }
        var bins = binValues.Select((inBin, b) =>
        {
            double binMean = inBin.Count == 0 ? 0 : inBin.Average();
            double binStd = inBin.Count == 0 ? 0 : Math.Sqrt(inBin.Sum(v => (v - binMean) * (v - binMean)) / inBin.Count);
            double min = b == 0 ? sorted[0] : edges[b - 1];
            double max = b == edges.Length ? sorted[^1] : edges[b];
            return new LimeBin(binMean, binStd + 1e-11, min, max, (double)inBin.Count / sorted.Length);
        }).ToArray();
        return new LimeFeatureStatistics(name, columns, LimeFeatureKind.Continuous, mean, std, edges, bins, [], []);
    }

    private static LimeFeatureStatistics Categorical(string name, IReadOnlyList<string> columns, LimeFeatureKind kind, IEnumerable<object> values)
    {
        var counts = new Dictionary<string, (object Value, int Count)>();
        int total = 0;
        foreach (var value in values)
        {
            if (IsMissing(value) || value is Array array && array.Cast<object>().Any(IsMissing)) continue;
            var key = KeyOf(value);
            counts[key] = counts.TryGetValue(key, out var entry) ? (entry.Value, entry.Count + 1) : (value, 1);
            total++;
        }
        if (total == 0)
            throw new ArgumentException($"Feature '{name}' has no training value that is not missing (NaN); LIME cannot learn how to sample it.");
        var ordered = counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToArray();
        return new LimeFeatureStatistics(name, columns, kind, 0, 1, [], [],
            ordered.Select(e => e.Value).ToArray(), ordered.Select(e => (double)e.Count / total).ToArray());
    }

    /// <summary>numpy's default (linear) percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double percent)
    {
        double position = (sorted.Length - 1) * percent / 100;
        int lower = (int)Math.Floor(position);
        int upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }
}
