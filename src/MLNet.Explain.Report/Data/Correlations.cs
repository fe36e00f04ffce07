namespace MLNet.Explain.Report;

/// <summary>Pearson correlations between feature slots, reported where strong enough to distort importances.</summary>
internal static class Correlations
{
    /// <summary>At most this many slots are compared (the most important first when a ranking is known): O(slots²) pairs.</summary>
    public const int MaxFeatures = 300;

    /// <summary>
    /// Correlations between slots of the feature vectors <paramref name="rows"/>. <paramref name="priority"/> lists slot
    /// indices in order of interest; the first <see cref="MaxFeatures"/> non-constant ones are compared.
    /// </summary>
    public static CorrelationSection Find(IReadOnlyList<float[]> rows, IReadOnlyList<string> names, IEnumerable<int> priority, double threshold)
    {
        var candidates = new List<(int Slot, double[] Centered, double Norm)>();
        foreach (int slot in priority)
        {
            if (candidates.Count == MaxFeatures) break;
            var column = rows.Select(r => (double)r[slot]).ToArray();
            if (column.Any(v => !double.IsFinite(v))) continue;
            double mean = column.Average();
            var centered = column.Select(v => v - mean).ToArray();
            double norm = Math.Sqrt(centered.Sum(v => v * v));
            if (norm > 1e-12 * Math.Max(1, Math.Abs(mean)) * Math.Sqrt(column.Length))
                candidates.Add((slot, centered, norm));
        }

        var pairs = new List<CorrelatedPair>();
        for (int a = 0; a < candidates.Count; a++)
            for (int b = a + 1; b < candidates.Count; b++)
            {
                double dot = 0;
                var x = candidates[a].Centered;
                var y = candidates[b].Centered;
                for (int i = 0; i < x.Length; i++) dot += x[i] * y[i];
                double r = dot / (candidates[a].Norm * candidates[b].Norm);
                if (Math.Abs(r) > threshold)
                    pairs.Add(new CorrelatedPair(names[candidates[a].Slot], names[candidates[b].Slot], Math.Clamp(r, -1, 1)));
            }

        return new CorrelationSection
        {
            Threshold = threshold,
            FeaturesCompared = candidates.Count,
            Pairs = pairs.OrderByDescending(p => Math.Abs(p.R)).ToList(),
        };
    }
}
