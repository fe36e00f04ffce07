using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>
/// Writing and reading, in a stage's saved state, a schema (for stages that re-score whole input rows and must rebuild
/// the model's input schema on load) and plain values as <see cref="RowValues"/> produces them (numbers, booleans,
/// text, arrays of those and <see cref="object"/>[] tuples).
/// </summary>
public static class DataSerialization
{
    private static readonly string[] SavedAnnotations = [SlotNames.SlotNamesKind, "KeyValues"];

    private enum ItemKind : byte { Single, Double, Boolean, Int32, Int64, UInt32, Text, Key }

    private enum ValueKind : byte { Single, Double, Boolean, Int32, Int64, UInt32, Text, Array, Tuple }

    /// <summary>
    /// Writes every column of <paramref name="schema"/> whose type is a number, boolean, key or text, or a vector of
    /// those, with its <c>SlotNames</c> and <c>KeyValues</c> annotations when they are text vectors. Other columns are
    /// left out (listed by <see cref="Describable"/>).
    /// </summary>
    public static void WriteSchema(this BinaryWriter writer, DataViewSchema schema)
    {
        var columns = schema.Where(c => !c.IsHidden && Describable(c.Type)).ToArray();
        writer.Write(columns.Length);
        foreach (var column in columns)
        {
            writer.Write(column.Name);
            var item = column.Type is VectorDataViewType vector ? vector.ItemType : column.Type;
            writer.Write((byte)KindOf(item));
            if (item is KeyDataViewType key) writer.Write(key.Count);
            var dimensions = column.Type is VectorDataViewType v ? v.Dimensions.ToArray() : null;
            writer.Write(dimensions is null ? -1 : dimensions.Length);
            foreach (var dimension in dimensions ?? []) writer.Write(dimension);
            foreach (var kind in SavedAnnotations)
            {
                var names = TextAnnotation(column, kind);
                writer.Write(names is not null);
                if (names is not null) writer.WriteStrings(names);
            }
        }
    }

    public static DataViewSchema ReadSchema(this BinaryReader reader)
    {
        var builder = new DataViewSchema.Builder();
        int count = reader.ReadInt32();
        if (count < 0) throw new InvalidDataException($"A saved schema declares {count} columns; the saved state is corrupt.");
        for (int c = 0; c < count; c++)
        {
            string name = reader.ReadString();
            var kind = (ItemKind)reader.ReadByte();
            DataViewType item = kind switch
            {
                ItemKind.Single => NumberDataViewType.Single,
                ItemKind.Double => NumberDataViewType.Double,
                ItemKind.Boolean => BooleanDataViewType.Instance,
                ItemKind.Int32 => NumberDataViewType.Int32,
                ItemKind.Int64 => NumberDataViewType.Int64,
                ItemKind.UInt32 => NumberDataViewType.UInt32,
                ItemKind.Text => TextDataViewType.Instance,
                ItemKind.Key => new KeyDataViewType(typeof(uint), reader.ReadUInt64()),
                _ => throw new InvalidDataException($"Saved column '{name}' has unknown item kind {(byte)kind}; the saved state is corrupt."),
            };
            int rank = reader.ReadInt32();
            DataViewType type = rank < 0 ? item : new VectorDataViewType((PrimitiveDataViewType)item, Enumerable.Range(0, rank).Select(_ => reader.ReadInt32()).ToArray());
            var annotations = new DataViewSchema.Annotations.Builder();
            foreach (var annotation in SavedAnnotations)
                if (reader.ReadBoolean())
                    AddText(annotations, annotation, reader.ReadStrings());
            builder.AddColumn(name, type, annotations.ToAnnotations());
        }
        return builder.ToSchema();
    }

    /// <summary>Whether <see cref="WriteSchema"/> can save a column of <paramref name="type"/>.</summary>
    public static bool Describable(DataViewType type)
    {
        var item = type is VectorDataViewType vector ? vector.ItemType : type;
        return item is KeyDataViewType { RawType: var raw } ? raw == typeof(uint) : TryKindOf(item, out _);
    }

    public static void WriteValue(this BinaryWriter writer, object value)
    {
        switch (value)
        {
            case float f: writer.Write((byte)ValueKind.Single); writer.Write(f); break;
            case double d: writer.Write((byte)ValueKind.Double); writer.Write(d); break;
            case bool b: writer.Write((byte)ValueKind.Boolean); writer.Write(b); break;
            case int i: writer.Write((byte)ValueKind.Int32); writer.Write(i); break;
            case long l: writer.Write((byte)ValueKind.Int64); writer.Write(l); break;
            case uint u: writer.Write((byte)ValueKind.UInt32); writer.Write(u); break;
            case string s: writer.Write((byte)ValueKind.Text); writer.Write(s); break;
            case object[] tuple:
                writer.Write((byte)ValueKind.Tuple);
                writer.Write(tuple.Length);
                foreach (var item in tuple) writer.WriteValue(item);
                break;
            case Array array:
                writer.Write((byte)ValueKind.Array);
                var element = array.GetType().GetElementType()!;
                writer.Write((byte)(element == typeof(string) ? ValueKind.Text : ValueKindOf(element)));
                writer.Write(array.Length);
                foreach (var item in array) writer.WriteValue(item!);
                break;
            default:
                throw new ArgumentException($"A value of type {value.GetType().Name} cannot be saved.", nameof(value));
        }
    }

    public static object ReadValue(this BinaryReader reader)
    {
        var kind = (ValueKind)reader.ReadByte();
        switch (kind)
        {
            case ValueKind.Single: return reader.ReadSingle();
            case ValueKind.Double: return reader.ReadDouble();
            case ValueKind.Boolean: return reader.ReadBoolean();
            case ValueKind.Int32: return reader.ReadInt32();
            case ValueKind.Int64: return reader.ReadInt64();
            case ValueKind.UInt32: return reader.ReadUInt32();
            case ValueKind.Text: return reader.ReadString();
            case ValueKind.Tuple:
                return Enumerable.Range(0, Length(reader)).Select(_ => reader.ReadValue()).ToArray();
            case ValueKind.Array:
                var element = (ValueKind)reader.ReadByte();
                var type = element switch
                {
                    ValueKind.Single => typeof(float), ValueKind.Double => typeof(double), ValueKind.Boolean => typeof(bool),
                    ValueKind.Int32 => typeof(int), ValueKind.Int64 => typeof(long), ValueKind.UInt32 => typeof(uint), ValueKind.Text => typeof(string),
                    _ => throw new InvalidDataException($"A saved array has unknown element kind {(byte)element}; the saved state is corrupt."),
                };
                var array = Array.CreateInstance(type, Length(reader));
                for (int i = 0; i < array.Length; i++) array.SetValue(reader.ReadValue(), i);
                return array;
            default:
                throw new InvalidDataException($"A saved value has unknown kind {(byte)kind}; the saved state is corrupt.");
        }
    }

    private static int Length(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length < 0 || reader.BaseStream.CanSeek && length > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new InvalidDataException($"A saved value declares {length} items; the saved state is corrupt.");
        return length;
    }

    private static ValueKind ValueKindOf(Type type)
        => type == typeof(float) ? ValueKind.Single : type == typeof(double) ? ValueKind.Double : type == typeof(bool) ? ValueKind.Boolean
            : type == typeof(int) ? ValueKind.Int32 : type == typeof(long) ? ValueKind.Int64 : type == typeof(uint) ? ValueKind.UInt32
            : throw new ArgumentException($"Arrays of {type.Name} cannot be saved.");

    private static ItemKind KindOf(DataViewType item)
        => TryKindOf(item, out var kind) ? kind : throw new ArgumentException($"Type {item} cannot be saved.");

    private static bool TryKindOf(DataViewType item, out ItemKind kind)
    {
        kind = item switch
        {
            KeyDataViewType => ItemKind.Key,
            TextDataViewType => ItemKind.Text,
            BooleanDataViewType => ItemKind.Boolean,
            _ when item == NumberDataViewType.Single => ItemKind.Single,
            _ when item == NumberDataViewType.Double => ItemKind.Double,
            _ when item == NumberDataViewType.Int32 => ItemKind.Int32,
            _ when item == NumberDataViewType.Int64 => ItemKind.Int64,
            _ when item == NumberDataViewType.UInt32 => ItemKind.UInt32,
            _ => (ItemKind)255,
        };
        return kind != (ItemKind)255;
    }

    private static string[]? TextAnnotation(DataViewSchema.Column column, string kind)
    {
        if (column.Annotations.Schema.GetColumnOrNull(kind) is not { Type: VectorDataViewType { ItemType: TextDataViewType } }) return null;
        VBuffer<ReadOnlyMemory<char>> values = default;
        column.Annotations.GetValue(kind, ref values);
        return values.DenseValues().Select(v => v.ToString()).ToArray();
    }

    private static void AddText(DataViewSchema.Annotations.Builder builder, string kind, string[] values)
    {
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> destination) =>
            destination = new VBuffer<ReadOnlyMemory<char>>(values.Length, values.Select(v => v.AsMemory()).ToArray());
        builder.Add(kind, new VectorDataViewType(TextDataViewType.Instance, values.Length), getter);
    }
}
