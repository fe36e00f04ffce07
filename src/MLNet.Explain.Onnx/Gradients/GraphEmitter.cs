using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>
/// A graph under construction: its node list, its initializers and the static type and shape of every tensor. Nodes added through
/// <c>Op</c> are shape-inferred at once, so later rewrites and gradient rules can ask for shapes of tensors they created.
/// </summary>
internal sealed class GraphEmitter
{
    private readonly Dictionary<string, string> _constantCache = [];
    private readonly HashSet<string> _names;
    private int _counter;

    public GraphEmitter(GraphProto graph, int opset, Dictionary<string, TensorInfo> info)
    {
        Graph = graph;
        Opset = opset;
        Info = info;
        _names = [.. graph.Node.SelectMany(n => n.Output), .. graph.Input.Select(i => i.Name), .. graph.Initializer.Select(i => i.Name)];
    }

    public GraphProto Graph { get; }

    public int Opset { get; }

    public Dictionary<string, TensorInfo> Info { get; }

    /// <summary>The prefix given to names of nodes and tensors this emitter creates.</summary>
    public string Prefix { get; set; } = "grad";

    public TensorInfo this[string tensor] => Info.TryGetValue(tensor, out var info)
        ? info
        : throw new InvalidDataException($"The shape of tensor '{tensor}' is unknown: the operator producing it has no shape function in the gradient engine.");

    public long[] Shape(string tensor) => this[tensor].Shape;

    public int Type(string tensor) => this[tensor].ElementType;

    public string Fresh(string hint)
    {
        string name;
        do
        {
            name = $"{Prefix}/{hint}_{_counter++}";
        }
        while (!_names.Add(name));

        return name;
    }

    public void Append(NodeProto node)
    {
        Graph.Node.Add(node);
        ShapeInference.InferNode(node, Info, Opset);
    }

    public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes) => Ops(opType, inputs, 1, attributes)[0];

    public string[] Ops(string opType, string[] inputs, int outputCount, params (string Name, object Value)[] attributes)
    {
        var outputs = Enumerable.Range(0, outputCount).Select(_ => Fresh(opType)).ToArray();
        Append(OnnxProto.Node(opType, inputs, outputs, Fresh(opType + "_node"), attributes));
        return outputs;
    }

    public string Int64s(params long[] values) => Int64s(values, [values.Length]);

    public string Int64Scalar(long value) => Int64s([value], []);

    private string Int64s(long[] values, long[] shape)
    {
        string key = $"i64[{string.Join(",", shape)}]:{string.Join(",", values)}";
        if (!_constantCache.TryGetValue(key, out var name))
        {
            name = Fresh("const");
            Graph.Initializer.Add(OnnxProto.Int64Tensor(name, values, shape));
            Info[name] = new TensorInfo(ElementType.Int64, shape, values);
            _constantCache[key] = name;
        }

        return name;
    }

    /// <summary>A scalar constant of a floating-point element type (the type of the tensor it combines with).</summary>
    public string Scalar(double value, int elementType) => Constant([(float)value], [], elementType);

    public string Constant(float[] values, long[] shape, int elementType)
    {
        string key = values.Length <= 16 ? $"f{elementType}[{string.Join(",", shape)}]:{string.Join(",", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}" : Fresh("key");
        if (!_constantCache.TryGetValue(key, out var name))
        {
            name = Fresh("const");
            Graph.Initializer.Add(OnnxProto.FloatTensor(name, elementType, values, shape));
            Info[name] = new TensorInfo(elementType, shape);
            _constantCache[key] = name;
        }

        return name;
    }

    public string Mul(string a, string b) => Op("Mul", [a, b]);

    public string Add(string a, string b) => Op("Add", [a, b]);

    public string Sub(string a, string b) => Op("Sub", [a, b]);

    public string Div(string a, string b) => Op("Div", [a, b]);

    public string Neg(string a) => Op("Neg", [a]);

    public string Scale(string a, double factor) => Mul(a, Scalar(factor, Type(a)));

    public string Reshape(string x, long[] shape) => Shape(x).SequenceEqual(shape) ? x : Op("Reshape", [x, Int64s(shape)]);

    public string Transpose(string x, long[] perm) => Op("Transpose", [x], ("perm", perm));

    public string ReduceSum(string x, IEnumerable<int> axes, bool keepDims) =>
        Op("ReduceSum", [x, Int64s(axes.Select(a => (long)a).ToArray())], ("keepdims", keepDims ? 1 : 0));

    public string ReduceMean(string x, IEnumerable<int> axes, bool keepDims) =>
        Op("ReduceMean", [x, Int64s(axes.Select(a => (long)a).ToArray())], ("keepdims", keepDims ? 1 : 0));

    public string Expand(string x, long[] shape) => Shape(x).SequenceEqual(shape) ? x : Op("Expand", [x, Int64s(shape)]);

    public string Zeros(long[] shape, int elementType) =>
        Op("ConstantOfShape", [Int64s(shape)], ("value", OnnxProto.FloatTensor("value", elementType, [0f], [1])));

    public string ZerosLike(string x) => Zeros(Shape(x), Type(x));

    /// <summary>Sums a broadcast gradient back to the shape of the operand it flowed from (leading axes and axes of size one).</summary>
    public string SumToShape(string gradient, long[] target)
    {
        var shape = Shape(gradient);
        if (shape.SequenceEqual(target))
        {
            return gradient;
        }

        int lead = shape.Length - target.Length;
        var axes = new List<int>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (i < lead || (target[i - lead] == 1 && shape[i] != 1))
            {
                axes.Add(i);
            }
        }

        var summed = axes.Count > 0 ? ReduceSum(gradient, axes, keepDims: true) : gradient;
        return Reshape(summed, target);
    }
}
