using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Report;

/// <summary>Reads scalar column values as display text: keys by their key value names, numbers in the invariant culture.</summary>
internal static class ColumnText
{
    public static Func<string> Reader(DataViewRow row, DataViewSchema.Column column)
    {
        var read = RowValues.CreateReader(row, column);
        if (column.Type is KeyDataViewType)
        {
            var names = KeyNames(column);
            return () =>
            {
                var key = Convert.ToInt64(read(), CultureInfo.InvariantCulture);
                return key == 0 ? "(missing)" : key <= names.Count ? names[(int)key - 1] : key.ToString(CultureInfo.InvariantCulture);
            };
        }
        return () => Format(read());
    }

    /// <summary>The names of a key column's values (its <c>KeyValues</c> annotation), or none.</summary>
    public static IReadOnlyList<string> KeyNames(DataViewSchema.Column column)
    {
        if (column.Annotations.Schema.GetColumnOrNull("KeyValues") is not { Type: VectorDataViewType { ItemType: TextDataViewType } })
            return [];
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.Annotations.GetValue("KeyValues", ref names);
        return names.DenseValues().Select(n => n.ToString()).ToList();
    }

    public static string Format(object value) => value switch
    {
        float f => Markup.Number(f).Replace('−', '-'),
        double d => Markup.Number(d).Replace('−', '-'),
        bool b => b ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
