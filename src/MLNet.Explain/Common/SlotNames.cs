using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Feature names for the slots of a vector column. Every attribution value is tied to one of these names, so they are
/// made unique: an empty name becomes <c>Slot 7</c>, a repeated name gets its slot index appended (<c>Age (Slot 3)</c>).
/// </summary>
public static class SlotNames
{
    /// <summary>The annotation kind ML.NET uses for the names of a vector's slots.</summary>
    public const string SlotNamesKind = "SlotNames";

    /// <summary>The unique slot names of <paramref name="column"/>, or <c>Slot 0..n-1</c> when it has none.</summary>
    public static IReadOnlyList<string> Of(DataViewSchema.Column column)
    {
        int size = column.Type is VectorDataViewType { Size: > 0 } vector ? vector.Size
            : column.Type is VectorDataViewType ? throw new ArgumentException($"Column '{column.Name}' is a vector of unknown size; explanations need a fixed number of slots.")
            : 1;
        if (column.Type is not VectorDataViewType)
            return MakeUnique([column.Name]);

        var names = new string[size];
        if (column.Annotations.Schema.GetColumnOrNull(SlotNamesKind) is { } slotNames
            && slotNames.Type is VectorDataViewType { ItemType: TextDataViewType, Size: var count } && count == size)
        {
            VBuffer<ReadOnlyMemory<char>> buffer = default;
            column.Annotations.GetValue(SlotNamesKind, ref buffer);
            int i = 0;
            foreach (var name in buffer.DenseValues())
                names[i++] = name.ToString();
        }
        return MakeUnique(names);
    }

    /// <summary>Replaces empty names by <c>Slot i</c> and disambiguates repeated names with their slot index.</summary>
    public static IReadOnlyList<string> MakeUnique(IReadOnlyList<string?> names)
    {
        var filled = names.Select((name, i) => string.IsNullOrWhiteSpace(name) ? $"Slot {i}" : name!).ToArray();
        var repeated = filled.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var unique = filled.Select((name, i) => repeated.Contains(name) ? $"{name} (Slot {i})" : name).ToArray();
        var taken = new HashSet<string>();
        for (int i = 0; i < unique.Length; i++)
            while (!taken.Add(unique[i]))
                unique[i] = $"{unique[i]}'";
        return unique;
    }

    /// <summary>The <c>SlotNames</c> annotation for a vector column with these names.</summary>
    public static DataViewSchema.Annotations ToAnnotations(IReadOnlyList<string> names)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> value) =>
        {
            var editor = VBufferEditor.Create(ref value, names.Count);
            for (int i = 0; i < names.Count; i++)
                editor.Values[i] = names[i].AsMemory();
            value = editor.Commit();
        };
        builder.Add(SlotNamesKind, new VectorDataViewType(TextDataViewType.Instance, names.Count), getter);
        return builder.ToAnnotations();
    }
}
