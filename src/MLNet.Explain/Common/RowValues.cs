using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Reads and writes column values as plain .NET objects so explainers can buffer, perturb and re-score rows without
/// knowing ML.NET's getter types. Scalars map to float, double, bool, int, long, uint (keys) and string (text);
/// vectors map to dense arrays of those.
/// </summary>
internal static class RowValues
{
    /// <summary>A reader that returns the current value of <paramref name="column"/> in <paramref name="row"/>.</summary>
    public static Func<object> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        var type = column.Type;
        if (type is VectorDataViewType vector)
        {
            return vector.ItemType.RawType switch
            {
                var t when t == typeof(float) => VectorReader<float>(row, column),
                var t when t == typeof(double) => VectorReader<double>(row, column),
                var t when t == typeof(bool) => VectorReader<bool>(row, column),
                var t when t == typeof(int) => VectorReader<int>(row, column),
                var t when t == typeof(long) => VectorReader<long>(row, column),
                var t when t == typeof(uint) => VectorReader<uint>(row, column),
                var t when t == typeof(ReadOnlyMemory<char>) => TextVectorReader(row, column),
                _ => throw Unsupported(column),
            };
        }

        return type.RawType switch
        {
            var t when t == typeof(float) => ScalarReader<float, float>(row, column, v => v),
            var t when t == typeof(double) => ScalarReader<double, double>(row, column, v => v),
            var t when t == typeof(bool) => ScalarReader<bool, bool>(row, column, v => v),
            var t when t == typeof(int) => ScalarReader<int, int>(row, column, v => v),
            var t when t == typeof(long) => ScalarReader<long, long>(row, column, v => v),
            var t when t == typeof(uint) => ScalarReader<uint, uint>(row, column, v => v),
            var t when t == typeof(ReadOnlyMemory<char>) => ScalarReader<ReadOnlyMemory<char>, string>(row, column, v => v.ToString()),
            _ => throw Unsupported(column),
        };
    }

    /// <summary>A getter that serves <paramref name="value"/> (as produced by a reader) with ML.NET's raw type for <paramref name="type"/>.</summary>
    public static Delegate CreateGetter(DataViewType type, Func<object> value, string columnName)
    {
        if (type is VectorDataViewType vector)
        {
            return vector.ItemType.RawType switch
            {
                var t when t == typeof(float) => VectorGetter<float>(value),
                var t when t == typeof(double) => VectorGetter<double>(value),
                var t when t == typeof(bool) => VectorGetter<bool>(value),
                var t when t == typeof(int) => VectorGetter<int>(value),
                var t when t == typeof(long) => VectorGetter<long>(value),
                var t when t == typeof(uint) => VectorGetter<uint>(value),
                var t when t == typeof(ReadOnlyMemory<char>) => TextVectorGetter(value),
                _ => throw new NotSupportedException($"Column '{columnName}' has type {type}, which MLNet.Explain cannot buffer."),
            };
        }

        return type.RawType switch
        {
            var t when t == typeof(float) => ScalarGetter<float, float>(value, v => v),
            var t when t == typeof(double) => ScalarGetter<double, double>(value, v => v),
            var t when t == typeof(bool) => ScalarGetter<bool, bool>(value, v => v),
            var t when t == typeof(int) => ScalarGetter<int, int>(value, v => v),
            var t when t == typeof(long) => ScalarGetter<long, long>(value, v => v),
            var t when t == typeof(uint) => ScalarGetter<uint, uint>(value, v => v),
            var t when t == typeof(ReadOnlyMemory<char>) => ScalarGetter<string, ReadOnlyMemory<char>>(value, v => v.AsMemory()),
            _ => throw new NotSupportedException($"Column '{columnName}' has type {type}, which MLNet.Explain cannot buffer."),
        };
    }

    /// <summary>Casts a typed getter request, naming the column when the caller asks for the wrong type.</summary>
    public static ValueGetter<TValue> Cast<TValue>(Delegate getter, DataViewSchema.Column column)
        => getter as ValueGetter<TValue>
           ?? throw new InvalidOperationException(
               $"Column '{column.Name}' has type {column.Type}; a getter of {typeof(TValue).Name} was requested.");

    private static Func<object> ScalarReader<TRaw, TOut>(DataViewRow row, DataViewSchema.Column column, Func<TRaw, TOut> convert)
        where TOut : notnull
    {
        var getter = row.GetGetter<TRaw>(column);
        TRaw value = default!;
        return () =>
        {
            getter(ref value);
            return convert(value);
        };
    }

    private static Func<object> VectorReader<T>(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<VBuffer<T>>(column);
        VBuffer<T> buffer = default;
        return () =>
        {
            getter(ref buffer);
            var result = new T[buffer.Length];
            buffer.CopyTo(result);
            return result;
        };
    }

    private static Func<object> TextVectorReader(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
        VBuffer<ReadOnlyMemory<char>> buffer = default;
        return () =>
        {
            getter(ref buffer);
            return buffer.DenseValues().Select(text => text.ToString()).ToArray();
        };
    }

    private static ValueGetter<TRaw> ScalarGetter<TValue, TRaw>(Func<object> value, Func<TValue, TRaw> convert)
        => (ref TRaw destination) => destination = convert((TValue)value());

    private static ValueGetter<VBuffer<T>> VectorGetter<T>(Func<object> value)
        => (ref VBuffer<T> destination) =>
        {
            var values = (T[])value();
            var editor = VBufferEditor.Create(ref destination, values.Length);
            values.CopyTo(editor.Values);
            destination = editor.Commit();
        };

    private static ValueGetter<VBuffer<ReadOnlyMemory<char>>> TextVectorGetter(Func<object> value)
        => (ref VBuffer<ReadOnlyMemory<char>> destination) =>
        {
            var values = (string[])value();
            var editor = VBufferEditor.Create(ref destination, values.Length);
            for (int i = 0; i < values.Length; i++)
                editor.Values[i] = values[i].AsMemory();
            destination = editor.Commit();
        };

    private static NotSupportedException Unsupported(DataViewSchema.Column column)
        => new($"Column '{column.Name}' has type {column.Type}, which MLNet.Explain cannot read.");
}

/// <summary>Equality of plain values as produced by <see cref="RowValues"/>: arrays compare element by element.</summary>
internal sealed class PlainValueComparer : IEqualityComparer<object>
{
    public static readonly PlainValueComparer Instance = new();

    public new bool Equals(object? x, object? y)
        => x is Array a && y is Array b
            ? a.Length == b.Length && a.Cast<object>().SequenceEqual(b.Cast<object>())
            : object.Equals(x, y);

    public int GetHashCode(object obj) => obj is Array a ? a.Length : obj.GetHashCode();
}
