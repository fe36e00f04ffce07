using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Lime;

/// <summary>Resolves and checks at Fit what a LIME stage reads: slots, raw columns, groups, the text column.</summary>
internal static class LimeInputs
{
    /// <summary>
    /// The model's input columns that a stage scoring whole rows reads from each row (every visible column whose values
    /// can be buffered), checked to contain <paramref name="required"/> and to be enough for the model.
    /// </summary>
    public static DataViewSchema ModelInputSchema(ITransformer model, DataViewSchema data, IEnumerable<string> required)
    {
        foreach (var name in required)
            RequireColumn(data, name);
        var builder = new DataViewSchema.Builder();
        foreach (var column in data.Where(c => !c.IsHidden && IsBufferable(c.Type)))
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        var schema = builder.ToSchema();
        foreach (var name in required)
            if (schema.GetColumnOrNull(name) is null)
                throw new ArgumentException($"LIME cannot read column '{name}' of type {data[name].Type}; numbers, booleans, keys, text and vectors of those are supported.");

        try
        {
            model.GetOutputSchema(schema);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            var skipped = data.Where(c => !c.IsHidden && schema.GetColumnOrNull(c.Name) is null).Select(c => $"'{c.Name}' ({c.Type})");
            throw new ArgumentException($"The model cannot score rows made of the columns LIME can buffer; left out: {string.Join(", ", skipped)}. {e.Message}", e);
        }
        return schema;
    }

    public static void RequireText(DataViewSchema data, string name)
    {
        var column = RequireColumn(data, name);
        if (column.Type is not TextDataViewType)
            throw new ArgumentException($"LIME text column '{name}' has type {column.Type}; a scalar text column was expected.");
    }

    /// <summary>The raw-column features: <see cref="LimeOptions.Columns"/>, then <see cref="LimeOptions.Groups"/>.</summary>
    public static IReadOnlyList<TrainingStatistics.RawFeature> RawFeatures(DataViewSchema data, LimeOptions options)
    {
        var categorical = options.CategoricalFeatures.ToHashSet(StringComparer.Ordinal);
        var unknown = categorical.Where(name => !options.Columns.Contains(name)).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"Categorical features {string.Join(", ", unknown.Select(n => $"'{n}'"))} are not among the explained columns ({string.Join(", ", options.Columns)}).");

        var features = options.Columns.Select(name =>
        {
            var column = RequireColumn(data, name);
            var kind = column.Type is VectorDataViewType ? LimeFeatureKind.Group
                : column.Type is NumberDataViewType && !categorical.Contains(name) ? LimeFeatureKind.Continuous
                : LimeFeatureKind.Categorical;
            return (Name: name, Columns: (IReadOnlyList<DataViewSchema.Column>)[column], Kind: kind);
        }).Concat(options.Groups.Select(group =>
        {
            if (group.Value is null || group.Value.Length == 0)
                throw new ArgumentException($"LIME group '{group.Key}' has no columns.");
            return (Name: group.Key, Columns: (IReadOnlyList<DataViewSchema.Column>)group.Value.Select(name => RequireColumn(data, name)).ToArray(), Kind: LimeFeatureKind.Group);
        })).ToArray();

        var names = SlotNames.MakeUnique(features.Select(f => f.Name).ToArray());
        return features.Select((f, i) => new TrainingStatistics.RawFeature(names[i], f.Columns, f.Kind)).ToArray();
    }

    /// <summary>The slots named (or numbered) in <paramref name="categorical"/>.</summary>
    public static IReadOnlySet<int> CategoricalSlots(IReadOnlyList<string> slotNames, IEnumerable<string> categorical)
    {
        var index = slotNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        return categorical.Select(name =>
            index.TryGetValue(name, out var slot) ? slot
            : int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out slot) && slot < slotNames.Count ? slot
            : throw new ArgumentException($"Categorical feature '{name}' is neither a slot name nor a slot index of the model's {slotNames.Count} feature slots ({string.Join(", ", slotNames.Take(10))}{(slotNames.Count > 10 ? ", ..." : "")}).")).ToHashSet();
    }

    private static DataViewSchema.Column RequireColumn(DataViewSchema data, string name)
        => data.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"LIME column '{name}' is not in the data; its columns are: {string.Join(", ", data.Where(c => !c.IsHidden).Select(c => c.Name))}.");

    private static bool IsBufferable(DataViewType type)
    {
        var item = type is VectorDataViewType vector ? vector.ItemType : type;
        var raw = item.RawType;
        return raw == typeof(float) || raw == typeof(double) || raw == typeof(bool) || raw == typeof(int) || raw == typeof(long)
               || raw == typeof(uint) || raw == typeof(ReadOnlyMemory<char>);
    }
}
