namespace MLNet.Explain.Report;

/// <summary>
/// What a discretizing LIME stage's inputs meant for a row, in the reference's words: the row's quartile bin of a
/// continuous feature (<c>x &lt;= 12.3</c>, <c>12.3 &lt; x &lt;= 15.8</c>, <c>x &gt; 15.8</c>) or its category (<c>x = 2</c>).
/// </summary>
internal sealed class LimeConditions(IReadOnlyList<LimeFeatureStatistics> features)
{
    /// <summary>The condition of feature <paramref name="feature"/> for the row with <paramref name="values"/>; null when it has none.</summary>
    public string? Of(int feature, IReadOnlyList<double> values)
    {
        if (feature >= features.Count || feature >= values.Count) return null;
        var statistics = features[feature];
        double value = values[feature];
        string name = statistics.Name;
        if (statistics.Kind == LimeFeatureKind.Categorical) return $"{name} = {Format(value)}";
        if (statistics.Kind != LimeFeatureKind.Continuous || statistics.BinEdges.Count == 0 || double.IsNaN(value)) return null;
        var edges = statistics.BinEdges;
        int bin = statistics.BinOf(value);
        return bin == 0 ? $"{name} <= {Format(edges[0])}"
            : bin == edges.Count ? $"{name} > {Format(edges[^1])}"
            : $"{Format(edges[bin - 1])} < {name} <= {Format(edges[bin])}";
    }

    private static string Format(double value) => ColumnText.Format(value);
}
