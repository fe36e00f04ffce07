using Google.Protobuf;
using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>ONNX element type codes (TensorProto.DataType) used by the engine.</summary>
internal static class ElementType
{
    public const int Float = 1;
    public const int Uint8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Bool = 9;
    public const int Float16 = 10;
    public const int Double = 11;
    public const int BFloat16 = 16;

    public static bool IsFloat(int type) => type is Float or Float16 or Double or BFloat16;

    public static bool IsInteger(int type) => type is Uint8 or Int8 or Int32 or Int64 or Bool or 4 or 5 or 12 or 13;

    public static string Name(int type) => type switch
    {
        Float => "float32",
        Double => "float64",
        Float16 => "float16",
        BFloat16 => "bfloat16",
        Int64 => "int64",
        Int32 => "int32",
        Bool => "bool",
        _ => $"type {type}",
    };
}

/// <summary>Reading and writing node attributes and constant tensors of the ONNX protobuf classes.</summary>
internal static class OnnxProto
{
    public static AttributeProto? Find(this NodeProto node, string name)
    {
        foreach (var a in node.Attribute)
        {
            if (a.Name == name)
            {
                return a;
            }
        }

        return null;
    }

    public static bool Has(this NodeProto node, string name) => node.Find(name) is not null;

    public static long Int(this NodeProto node, string name, long fallback) => node.Find(name) is { } a ? a.I : fallback;

    public static float Float(this NodeProto node, string name, float fallback) => node.Find(name) is { } a ? a.F : fallback;

    public static string Str(this NodeProto node, string name, string fallback) =>
        node.Find(name) is { } a ? a.S.ToStringUtf8() : fallback;

    public static long[]? Ints(this NodeProto node, string name) => node.Find(name) is { } a ? a.Ints.ToArray() : null;

    public static void RemoveAttribute(this NodeProto node, string name)
    {
        for (int i = node.Attribute.Count - 1; i >= 0; i--)
        {
            if (node.Attribute[i].Name == name)
            {
                node.Attribute.RemoveAt(i);
            }
        }
    }

    public static void SetAttribute(this NodeProto node, string name, object value)
    {
        node.RemoveAttribute(name);
        node.Attribute.Add(Attribute(name, value));
    }

    public static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = i;
                break;
            case long l:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = l;
                break;
            case float f:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = f;
                break;
            case double d:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = (float)d;
                break;
            case string s:
                a.Type = AttributeProto.Types.AttributeType.String;
                a.S = ByteString.CopyFromUtf8(s);
                break;
            case long[] ls:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ls);
                break;
            case int[] ints:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ints.Select(v => (long)v));
                break;
            case float[] fs:
                a.Type = AttributeProto.Types.AttributeType.Floats;
                a.Floats.AddRange(fs);
                break;
            case TensorProto t:
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.T = t;
                break;
            default:
                throw new ArgumentException($"Unsupported attribute value type {value.GetType()} for attribute '{name}'.");
        }

        return a;
    }

    public static NodeProto Node(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string name, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (attrName, value) in attributes)
        {
            node.Attribute.Add(Attribute(attrName, value));
        }

        return node;
    }

    public static TensorProto Int64Tensor(string name, long[] values, long[]? shape = null)
    {
        var t = new TensorProto { Name = name, DataType = ElementType.Int64 };
        t.Dims.AddRange(shape ?? [values.Length]);
        t.Int64Data.AddRange(values);
        return t;
    }

    public static TensorProto FloatTensor(string name, int elementType, float[] values, long[] shape)
    {
        var t = new TensorProto { Name = name, DataType = elementType };
        t.Dims.AddRange(shape);
        switch (elementType)
        {
            case ElementType.Float:
                t.FloatData.AddRange(values);
                break;
            case ElementType.Double:
                t.DoubleData.AddRange(values.Select(v => (double)v));
                break;
            default:
                throw new NotSupportedException($"Constants of element type {ElementType.Name(elementType)} are not supported by the gradient engine.");
        }

        return t;
    }

    /// <summary>Integer content of a constant tensor, or null when it is not an integer tensor.</summary>
    public static long[]? ReadIntegers(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return null;
        }

        var raw = t.RawData.Span;
        switch (t.DataType)
        {
            case ElementType.Int64:
                return raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(raw).ToArray() : t.Int64Data.ToArray();
            case ElementType.Int32:
                return raw.Length > 0
                    ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v).ToArray()
                    : t.Int32Data.Select(v => (long)v).ToArray();
            case ElementType.Bool:
            case ElementType.Uint8:
            case ElementType.Int8:
                return raw.Length > 0 ? raw.ToArray().Select(v => (long)(t.DataType == ElementType.Int8 ? (sbyte)v : v)).ToArray() : t.Int32Data.Select(v => (long)v).ToArray();
            default:
                return null;
        }
    }

    /// <summary>Float content of a constant tensor (float or double), or null for other types.</summary>
    public static float[]? ReadFloats(TensorProto t)
    {
        var raw = t.RawData.Span;
        return t.DataType switch
        {
            ElementType.Float => raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray() : t.FloatData.ToArray(),
            ElementType.Double => raw.Length > 0
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(v => (float)v).ToArray()
                : t.DoubleData.Select(v => (float)v).ToArray(),
            _ => null,
        };
    }

    public static int AiOnnxOpset(ModelProto model)
    {
        foreach (var o in model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                return (int)o.Version;
            }
        }

        throw new InvalidDataException("The model imports no ai.onnx opset.");
    }

    public static string Describe(NodeProto node) => $"{node.OpType} node '{(node.Name.Length > 0 ? node.Name : "<unnamed>")}'";
}
