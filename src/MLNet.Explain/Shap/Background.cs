using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>
/// The background distribution that stands in for "absent" features: weighted feature vectors. Kernel SHAP and
/// interventional TreeSHAP cost grows with its size, so it is summarized to a few rows.
/// </summary>
internal sealed record Background(float[][] Rows, double[] Weights)
{
    /// <summary>Rows a k-means summary clusters at most (a uniform sample of larger data).</summary>
    public const int MaxClusteredRows = 20_000;

    private const int KMeansIterations = 25;

    public int Count => Rows.Length;

    public void Save(BinaryWriter writer)
    {
        writer.Write(Rows.Length);
        foreach (var row in Rows) writer.WriteFloats(row);
        writer.WriteDoubles(Weights);
    }

    public static Background Load(BinaryReader reader)
    {
        var rows = new float[reader.ReadInt32()][];
        for (int i = 0; i < rows.Length; i++) rows[i] = reader.ReadFloats();
        var weights = reader.ReadDoubles();
        if (weights.Length != rows.Length)
            throw new InvalidDataException($"The saved SHAP background has {rows.Length} rows but {weights.Length} weights.");
        return new Background(rows, weights);
    }
    public double TotalWeight => Weights.Sum();

    /// <summary>
    /// Summarizes <paramref name="rows"/> to at most <paramref name="maxRows"/> weighted rows. Data that small is
    /// kept as is. <see cref="BackgroundSummary.Sample"/> draws a uniform sample; <see cref="BackgroundSummary.KMeans"/>
    /// clusters (k-means++ then Lloyd, on features scaled to unit variance) and keeps each centroid weighted by its
    /// cluster's size, with every coordinate moved to the nearest value the cluster's members have, so integer, binary
    /// and one-hot features keep values the model has seen.
    /// </summary>
    public static Background Summarize(IEnumerable<float[]> rows, int maxRows, BackgroundSummary how, int seed)
    {
        var random = new Random(seed);
        int keep = how == BackgroundSummary.Sample ? maxRows : Math.Max(maxRows, MaxClusteredRows);
        var sample = Reservoir(rows, keep, random);
        if (sample.Count == 0)
            throw new ArgumentException("The background data has no rows; SHAP needs at least one background row.");
        if (sample.Count <= maxRows)
            return new Background([.. sample], Enumerable.Repeat(1.0, sample.Count).ToArray());
        return KMeans(sample, maxRows, random);
    }

    /// <summary>A uniform sample of at most <paramref name="count"/> rows, in their original order.</summary>
    private static List<float[]> Reservoir(IEnumerable<float[]> rows, int count, Random random)
    {
        var kept = new List<(long Index, float[] Row)>(count);
        long seen = 0;
        foreach (var row in rows)
        {
            if (kept.Count < count)
                kept.Add((seen, row));
            else if (random.NextInt64(seen + 1) is var slot && slot < count)
                kept[(int)slot] = (seen, row);
            seen++;
        }
        return kept.OrderBy(k => k.Index).Select(k => k.Row).ToList();
    }

    private static Background KMeans(List<float[]> rows, int clusters, Random random)
    {
        int n = rows.Count, m = rows[0].Length;
        var scale = new double[m];
        for (int j = 0; j < m; j++)
        {
            double sum = 0, squares = 0;
            int count = 0;
            foreach (var row in rows)
            {
                if (float.IsNaN(row[j])) continue;
                sum += row[j];
                squares += (double)row[j] * row[j];
                count++;
            }
            double variance = count > 0 ? squares / count - (sum / count) * (sum / count) : 0;
            scale[j] = variance > 1e-24 ? 1 / Math.Sqrt(variance) : 0;
        }

        double Distance(float[] row, double[] centroid)
        {
            double d = 0;
            for (int j = 0; j < m; j++)
            {
                if (float.IsNaN(row[j]) || double.IsNaN(centroid[j])) continue;
                double diff = (row[j] - centroid[j]) * scale[j];
                d += diff * diff;
            }
            return d;
        }

        // k-means++ seeding.
        var centroids = new List<double[]> { rows[random.Next(n)].Select(v => (double)v).ToArray() };
        var nearest = rows.Select(r => Distance(r, centroids[0])).ToArray();
        while (centroids.Count < clusters)
        {
            double total = nearest.Sum();
            int pick;
            if (total <= 0)
                pick = random.Next(n);
            else
            {
                double target = random.NextDouble() * total;
                pick = 0;
                for (double acc = nearest[0]; acc < target && pick < n - 1; acc += nearest[++pick]) { }
            }
            var centroid = rows[pick].Select(v => (double)v).ToArray();
            centroids.Add(centroid);
            for (int i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], Distance(rows[i], centroid));
        }

        var assignment = new int[n];
        for (int iteration = 0; iteration < KMeansIterations; iteration++)
        {
            bool changed = false;
            Parallel.For(0, n, i =>
            {
                int best = 0;
                double bestDistance = double.PositiveInfinity;
                for (int c = 0; c < centroids.Count; c++)
                {
                    double d = Distance(rows[i], centroids[c]);
                    if (d < bestDistance) (best, bestDistance) = (c, d);
                }
                if (assignment[i] != best || iteration == 0)
                {
                    assignment[i] = best;
                    changed = true;
                }
            });
            for (int c = 0; c < centroids.Count; c++)
            {
                var sums = new double[m];
                var counts = new int[m];
                for (int i = 0; i < n; i++)
                {
                    if (assignment[i] != c) continue;
                    for (int j = 0; j < m; j++)
                        if (!float.IsNaN(rows[i][j])) { sums[j] += rows[i][j]; counts[j]++; }
                }
                if (counts.All(k => k == 0)) continue;
                for (int j = 0; j < m; j++)
                    centroids[c][j] = counts[j] > 0 ? sums[j] / counts[j] : double.NaN;
            }
            if (!changed) break;
        }

        var summary = new List<float[]>();
        var weights = new List<double>();
        for (int c = 0; c < centroids.Count; c++)
        {
            var members = Enumerable.Range(0, n).Where(i => assignment[i] == c).Select(i => rows[i]).ToList();
            if (members.Count == 0) continue;
            var row = new float[m];
            for (int j = 0; j < m; j++)
            {
                double target = centroids[c][j];
                float best = members[0][j];
                foreach (var member in members)
                    if (!float.IsNaN(member[j]) && (float.IsNaN(best) || Math.Abs(member[j] - target) < Math.Abs(best - target)))
                        best = member[j];
                row[j] = best;
            }
            summary.Add(row);
            weights.Add(members.Count);
        }
        return new Background([.. summary], [.. weights]);
    }
}
