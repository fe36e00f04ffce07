namespace MLNet.Explain;

/// <summary>The features a permutation importance run permutes, resolved from the options against the model.</summary>
internal static class FeatureGroups
{
    /// <summary>Slot-level features: each slot, the user's groups of slot names, or groups derived from slot names.</summary>
    public static IReadOnlyList<(string Name, int[] Slots)> OfSlots(ModelParts parts, PermutationImportanceOptions options, IEnumerable<string> columnNames)
    {
        var names = parts.FeatureNames;
        if (options.Groups is { } groups)
        {
            var index = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
            return groups.Select(group => (group.Key, group.Value.Select(slot => index.TryGetValue(slot, out var i)
                    ? i
                    : throw new ArgumentException(
                        $"Group '{group.Key}' names slot '{slot}', which feature column '{parts.FeatureColumnName}' does not have. Slot names: {Preview(names)}.",
                        nameof(options))).Distinct().ToArray()))
                .ToArray();
        }
        if (options.Level == ImportanceLevel.Slots)
            return names.Select((name, i) => (name, new[] { i })).ToArray();
        return DeriveGroups(names, columnNames)
            .Select(group => (group.Key, group.ToArray()))
            .ToArray();
    }

    /// <summary>Column-level features: each column (given or the model's inputs), or the user's groups of columns.</summary>
    public static IReadOnlyList<(string Name, string[] Columns)> OfColumns(PermutationImportanceOptions options, Func<IReadOnlyList<string>> defaultColumns)
    {
        if (options.Groups is { } groups)
            return groups.Select(group => (group.Key, group.Value.Distinct().ToArray())).ToArray();
        var columns = options.Columns ?? defaultColumns();
        if (columns.Count == 0)
            throw new ArgumentException("There are no columns to permute: the model's score depends on no input column other than the label.", nameof(options));
        return columns.Distinct().Select(column => (column, new[] { column })).ToArray();
    }

    /// <summary>
    /// Groups slots by the column they came from, read from their names: ML.NET names the slots of a concatenated vector
    /// column <c>Column.Slot</c> (one-hot: <c>Color.Red</c>). The longest known column name followed by a dot wins;
    /// otherwise the text before the first dot; a name without a dot is a group of its own.
    /// </summary>
    public static IEnumerable<IGrouping<string, int>> DeriveGroups(IReadOnlyList<string> slotNames, IEnumerable<string> columnNames)
    {
        var prefixes = columnNames.Where(c => c.Length > 0).Distinct().OrderByDescending(c => c.Length).ToArray();
        return Enumerable.Range(0, slotNames.Count).GroupBy(i => GroupOf(slotNames[i], prefixes));
    }

    private static string GroupOf(string slotName, string[] prefixes)
    {
        foreach (var prefix in prefixes)
            if (slotName.Length > prefix.Length + 1 && slotName.StartsWith(prefix, StringComparison.Ordinal) && slotName[prefix.Length] == '.')
                return prefix;
        int dot = slotName.IndexOf('.');
        return dot > 0 ? slotName[..dot] : slotName;
    }

    private static string Preview(IReadOnlyList<string> names)
        => string.Join(", ", names.Take(20)) + (names.Count > 20 ? $", ... ({names.Count} slots)" : "");
}
