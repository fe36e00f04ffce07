using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>The view a shape function has of one node: its attributes, the inferred inputs, the opset.</summary>
internal sealed class ShapeNode(NodeProto node, TensorInfo?[] inputs, int opset)
{
    public NodeProto Node { get; } = node;

    public int Opset { get; } = opset;

    public int InputCount => inputs.Length;

    public bool HasInput(int i) => i < inputs.Length && inputs[i] is not null;

    public TensorInfo In(int i) => i < inputs.Length && inputs[i] is { } t
        ? t
        : throw new InvalidDataException($"{OnnxProto.Describe(Node)} has no input {i}.");

    /// <summary>The content of an integer input that must be known at build time (axes, pads, shapes, slice bounds).</summary>
    public long[] Values(int i) => In(i).Values
        ?? throw new InvalidDataException($"Input {i} ('{Node.Input[i]}') of {OnnxProto.Describe(Node)} must be computable at build time for the chosen batch size, but it depends on data.");

    /// <summary>Axes given as an attribute (older opsets) or as an input (newer opsets); null when absent.</summary>
    public long[]? Axes(int inputIndex, string attribute = "axes") =>
        Node.Ints(attribute) ?? (HasInput(inputIndex) ? Values(inputIndex) : null);
}

/// <summary>
/// Static shape inference for a fixed batch size. ONNX Runtime exposes none publicly, so the engine carries its own for the operators it knows:
/// every shape a gradient rule needs is then a build-time constant. Integer tensors of shape subgraphs (Shape, Gather, Concat, ...) are evaluated
/// too, so Reshape targets computed from Shape are known.
/// </summary>
internal static class ShapeInference
{
    private delegate TensorInfo[] ShapeFunction(ShapeNode n);

    private static readonly Dictionary<string, ShapeFunction> Functions = BuildTable();

    public static bool Supports(string opType) => Functions.ContainsKey(opType);

    /// <summary>Infers every node output in order; outputs of operators without a shape function stay unknown (absent from the map).</summary>
    public static void Run(IEnumerable<NodeProto> nodes, Dictionary<string, TensorInfo> known, int opset)
    {
        foreach (var node in nodes)
        {
            InferNode(node, known, opset);
        }
    }

    public static void InferNode(NodeProto node, Dictionary<string, TensorInfo> known, int opset)
    {
        if (node.Domain is not ("" or "ai.onnx") || !Functions.TryGetValue(node.OpType, out var function))
        {
            return;
        }

        var inputs = new TensorInfo?[node.Input.Count];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (node.Input[i].Length == 0)
            {
                continue;
            }

            if (!known.TryGetValue(node.Input[i], out var info))
            {
                return;
            }

            inputs[i] = info;
        }

        TensorInfo[] outputs;
        try
        {
            outputs = function(new ShapeNode(node, inputs, opset));
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException or DivideByZeroException)
        {
            throw new InvalidDataException($"Shape inference failed for {OnnxProto.Describe(node)} (opset {opset}) with inputs {string.Join(", ", inputs.Select(i => i?.ToString() ?? "-"))}: {e.Message}", e);
        }

        for (int i = 0; i < node.Output.Count && i < outputs.Length; i++)
        {
            if (node.Output[i].Length > 0)
            {
                known[node.Output[i]] = outputs[i];
            }
        }
    }

    public static long[] Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"shapes [{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast");
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    public static int NormalizeAxis(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    /// <summary>Explicit begin/end pads of a convolution or pooling window, resolving auto_pad.</summary>
    public static (long[] Begin, long[] End) ResolvePads(NodeProto node, long[] inputSpatial, long[] kernel, long[] strides, long[] dilations)
    {
        int n = inputSpatial.Length;
        var begin = new long[n];
        var end = new long[n];
        string autoPad = node.Str("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < n; i++)
            {
                long output = (inputSpatial[i] + strides[i] - 1) / strides[i];
                long total = Math.Max(0, ((output - 1) * strides[i]) + ((kernel[i] - 1) * dilations[i]) + 1 - inputSpatial[i]);
                long small = total / 2;
                (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
            }
        }
        else if (autoPad != "VALID" && node.Ints("pads") is { } pads)
        {
            Array.Copy(pads, 0, begin, 0, n);
            Array.Copy(pads, n, end, 0, n);
        }

        return (begin, end);
    }

    /// <summary>Kernel, strides, dilations and explicit pads of a Conv or pooling node.</summary>
    public static WindowGeometry Window(NodeProto node, long[] inputShape, long[] kernel)
    {
        int n = kernel.Length;
        var spatial = inputShape[2..];
        var strides = node.Ints("strides") ?? Enumerable.Repeat(1L, n).ToArray();
        var dilations = node.Ints("dilations") ?? Enumerable.Repeat(1L, n).ToArray();
        var (begin, end) = ResolvePads(node, spatial, kernel, strides, dilations);
        bool ceil = node.Int("ceil_mode", 0) != 0;
        var output = new long[n];
        for (int i = 0; i < n; i++)
        {
            long span = spatial[i] + begin[i] + end[i] - (dilations[i] * (kernel[i] - 1)) - 1;
            output[i] = ceil ? ((span + strides[i] - 1) / strides[i]) + 1 : (span / strides[i]) + 1;
            if (ceil && (output[i] - 1) * strides[i] >= spatial[i] + begin[i])
            {
                output[i]--;
            }
        }

        return new WindowGeometry(spatial, kernel, strides, dilations, begin, end, output);
    }

    private static TensorInfo Same(ShapeNode n, int input = 0) => n.In(input) with { Values = null };

    private static TensorInfo Ints(long[] values, long[] shape, int type = ElementType.Int64) => new(type, shape, values);

    private static Dictionary<string, ShapeFunction> BuildTable()
    {
        var t = new Dictionary<string, ShapeFunction>();
        foreach (var op in new[]
                 {
                     "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Gelu", "Abs", "Neg", "Reciprocal", "Softmax", "LogSoftmax",
                     "Floor", "Ceil", "Round", "Sign", "Softplus", "Elu", "Selu", "HardSigmoid", "HardSwish", "Sin", "Cos", "LRN", "Clip",
                     "BatchNormalization", "InstanceNormalization", "Not", "IsNaN", "Hardmax",
                 })
        {
            t[op] = n => [Same(n)];
        }

        t["Identity"] = n => [n.In(0)];
        t["Dropout"] = n => [Same(n), Same(n) with { ElementType = ElementType.Bool }];
        t["LayerNormalization"] = n =>
        {
            var x = n.In(0);
            int axis = NormalizeAxis(n.Node.Int("axis", -1), x.Rank);
            var stat = x.Shape.Select((d, i) => i < axis ? d : 1).ToArray();
            return [Same(n), new TensorInfo(ElementType.Float, stat), new TensorInfo(ElementType.Float, stat)];
        };

        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "Where" })
        {
            t[op] = n => [Elementwise(n)];
        }

        t["Cast"] = n =>
        {
            int to = (int)n.Node.Int("to", ElementType.Float);
            var x = n.In(0);
            return [new TensorInfo(to, x.Shape, ElementType.IsInteger(to) ? x.Values : null)];
        };
        t["Shape"] = n =>
        {
            var shape = n.In(0).Shape;
            int rank = shape.Length;
            int start = Math.Clamp(NormalizeAxis(n.Node.Int("start", 0), rank), 0, rank);
            int end = Math.Clamp(NormalizeAxis(n.Node.Int("end", rank), rank), 0, rank);
            var values = shape[start..Math.Max(start, end)];
            return [Ints(values, [values.Length])];
        };
        t["Size"] = n => [Ints([n.In(0).ElementCount], [])];
        t["Constant"] = n => [ConstantValue(n.Node)];
        t["ConstantOfShape"] = n =>
        {
            var shape = n.Values(0);
            var valueTensor = n.Node.Find("value")?.T;
            int type = valueTensor?.DataType ?? ElementType.Float;
            long count = shape.Aggregate(1L, (a, b) => a * b);
            long[]? values = ElementType.IsInteger(type) && count <= 1024 && valueTensor is not null
                ? Enumerable.Repeat(OnnxProto.ReadIntegers(valueTensor)![0], (int)count).ToArray()
                : null;
            return [new TensorInfo(type, shape, values)];
        };
        t["Range"] = n =>
        {
            var (start, limit, delta) = (n.In(0), n.In(1), n.In(2));
            if (start.Values is null || limit.Values is null || delta.Values is null)
            {
                throw new ArgumentException("Range needs integer start, limit and delta known at build time");
            }

            long count = Math.Max(0, (long)Math.Ceiling((limit.Values[0] - start.Values[0]) / (double)delta.Values[0]));
            var values = Enumerable.Range(0, (int)count).Select(i => start.Values[0] + (i * delta.Values[0])).ToArray();
            return [Ints(values, [count], start.ElementType)];
        };
        t["Reshape"] = n =>
        {
            var x = n.In(0);
            var target = n.Node.Ints("shape") ?? n.Values(1);
            var shape = ReshapeTarget(x.Shape, target, n.Node.Int("allowzero", 0) != 0);
            return [x with { Shape = shape }];
        };
        t["Flatten"] = n =>
        {
            var x = n.In(0);
            int axis = NormalizeAxis(n.Node.Int("axis", 1), x.Rank);
            long outer = x.Shape[..axis].Aggregate(1L, (a, b) => a * b);
            return [x with { Shape = [outer, x.ElementCount / outer] }];
        };
        t["Squeeze"] = n =>
        {
            var x = n.In(0);
            var axes = n.Axes(1)?.Select(a => NormalizeAxis(a, x.Rank)).ToHashSet();
            var shape = x.Shape.Where((d, i) => axes is null ? d != 1 : !axes.Contains(i)).ToArray();
            return [x with { Shape = shape }];
        };
        t["Unsqueeze"] = n =>
        {
            var x = n.In(0);
            var axesRaw = n.Axes(1) ?? throw new ArgumentException("Unsqueeze needs axes");
            int rank = x.Rank + axesRaw.Length;
            var axes = axesRaw.Select(a => NormalizeAxis(a, rank)).ToHashSet();
            var shape = new long[rank];
            int j = 0;
            for (int i = 0; i < rank; i++)
            {
                shape[i] = axes.Contains(i) ? 1 : x.Shape[j++];
            }

            return [x with { Shape = shape }];
        };
        t["Transpose"] = n =>
        {
            var x = n.In(0);
            var perm = n.Node.Ints("perm") ?? Enumerable.Range(0, x.Rank).Reverse().Select(i => (long)i).ToArray();
            return [new TensorInfo(x.ElementType, perm.Select(p => x.Shape[p]).ToArray(), x.Values is { } v && x.Rank <= 1 ? v : null)];
        };
        t["Concat"] = n =>
        {
            var parts = Enumerable.Range(0, n.InputCount).Where(n.HasInput).Select(n.In).ToArray();
            int axis = NormalizeAxis(n.Node.Int("axis", 0), parts[0].Rank);
            var shape = (long[])parts[0].Shape.Clone();
            shape[axis] = parts.Sum(p => p.Shape[axis]);
            long[]? values = parts.All(p => p.Values is not null) && parts[0].Rank == 1 ? parts.SelectMany(p => p.Values!).ToArray() : null;
            return [new TensorInfo(parts[0].ElementType, shape, values)];
        };
        t["Split"] = n =>
        {
            var x = n.In(0);
            int axis = NormalizeAxis(n.Node.Int("axis", 0), x.Rank);
            var sizes = SplitSizes(n, x.Shape[axis], n.Node.Output.Count);
            return sizes.Select(s => x with { Shape = x.Shape.Select((d, i) => i == axis ? s : d).ToArray(), Values = null }).ToArray();
        };
        t["Slice"] = n =>
        {
            var x = n.In(0);
            var slice = SliceBounds.Resolve(n, x.Shape);
            long[]? values = null;
            if (x.Values is not null && x.Rank == 1)
            {
                var list = new List<long>();
                for (long i = slice.Start[0]; slice.Step[0] > 0 ? i < slice.End[0] : i > slice.End[0]; i += slice.Step[0])
                {
                    list.Add(x.Values[i]);
                }

                values = list.ToArray();
            }

            return [x with { Shape = slice.OutputShape, Values = values }];
        };
        t["Gather"] = n =>
        {
            var (x, indices) = (n.In(0), n.In(1));
            int axis = NormalizeAxis(n.Node.Int("axis", 0), x.Rank);
            var shape = x.Shape[..axis].Concat(indices.Shape).Concat(x.Shape[(axis + 1)..]).ToArray();
            long[]? values = null;
            if (x.Values is not null && x.Rank == 1 && indices.Values is not null)
            {
                values = indices.Values.Select(i => x.Values[i < 0 ? i + x.Shape[0] : i]).ToArray();
            }

            return [new TensorInfo(x.ElementType, shape, values)];
        };
        t["Expand"] = n =>
        {
            var x = n.In(0);
            var shape = Broadcast(x.Shape, n.Values(1));
            long[]? values = x.Values is { Length: 1 } v && shape.Length <= 1 ? Enumerable.Repeat(v[0], (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray() : null;
            return [x with { Shape = shape, Values = values }];
        };
        t["Tile"] = n =>
        {
            var x = n.In(0);
            var repeats = n.Values(1);
            return [x with { Shape = x.Shape.Select((d, i) => d * repeats[i]).ToArray(), Values = null }];
        };
        t["Pad"] = n =>
        {
            var x = n.In(0);
            var pads = PadAmounts(n, x.Rank);
            return [x with { Shape = x.Shape.Select((d, i) => d + pads[i] + pads[i + x.Rank]).ToArray(), Values = null }];
        };
        foreach (var op in new[] { "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin" })
        {
            t[op] = n =>
            {
                var x = n.In(0);
                bool isArg = n.Node.OpType.StartsWith("Arg", StringComparison.Ordinal);
                var axes = ReduceAxes(n, x.Rank);
                bool keep = n.Node.Int("keepdims", 1) != 0;
                var shape = x.Shape.Select((d, i) => axes.Contains(i) ? (keep ? 1 : -1) : d).Where(d => d >= 0).ToArray();
                long[]? values = n.Node.OpType == "ReduceProd" && x.Values is not null && shape.Length <= 1 && x.Rank == 1
                    ? [x.Values.Aggregate(1L, (a, b) => a * b)]
                    : null;
                return [new TensorInfo(isArg ? ElementType.Int64 : x.ElementType, shape, values)];
            };
        }

        t["MatMul"] = n =>
        {
            var (a, b) = (n.In(0), n.In(1));
            var sa = a.Rank == 1 ? new[] { 1L, a.Shape[0] } : a.Shape;
            var sb = b.Rank == 1 ? new[] { b.Shape[0], 1L } : b.Shape;
            if (sa[^1] != sb[^2])
            {
                throw new ArgumentException($"inner dimensions {sa[^1]} and {sb[^2]} differ");
            }

            var batch = Broadcast(sa[..^2], sb[..^2]);
            var shape = batch.Concat(a.Rank == 1 ? [] : new[] { sa[^2] }).Concat(b.Rank == 1 ? [] : new[] { sb[^1] }).ToArray();
            return [new TensorInfo(a.ElementType, shape)];
        };
        t["Gemm"] = n =>
        {
            var (a, b) = (n.In(0), n.In(1));
            long m = n.Node.Int("transA", 0) != 0 ? a.Shape[1] : a.Shape[0];
            long cols = n.Node.Int("transB", 0) != 0 ? b.Shape[0] : b.Shape[1];
            return [new TensorInfo(a.ElementType, [m, cols])];
        };
        t["Conv"] = n =>
        {
            var (x, w) = (n.In(0), n.In(1));
            var window = Window(n.Node, x.Shape, n.Node.Ints("kernel_shape") ?? w.Shape[2..]);
            return [new TensorInfo(x.ElementType, [x.Shape[0], w.Shape[0], .. window.Output])];
        };
        foreach (var op in new[] { "MaxPool", "AveragePool", "LpPool" })
        {
            t[op] = n =>
            {
                var x = n.In(0);
                var window = Window(n.Node, x.Shape, n.Node.Ints("kernel_shape") ?? throw new ArgumentException("kernel_shape is required"));
                var y = new TensorInfo(x.ElementType, [x.Shape[0], x.Shape[1], .. window.Output]);
                return [y, y with { ElementType = ElementType.Int64 }];
            };
        }

        t["ConvTranspose"] = n =>
        {
            var (x, w) = (n.In(0), n.In(1));
            var kernel = n.Node.Ints("kernel_shape") ?? w.Shape[2..];
            int rank = kernel.Length;
            var strides = n.Node.Ints("strides") ?? Enumerable.Repeat(1L, rank).ToArray();
            var dilations = n.Node.Ints("dilations") ?? Enumerable.Repeat(1L, rank).ToArray();
            var pads = n.Node.Ints("pads") ?? new long[2 * rank];
            var outputPadding = n.Node.Ints("output_padding") ?? new long[rank];
            var spatial = Enumerable.Range(0, rank)
                .Select(i => (strides[i] * (x.Shape[i + 2] - 1)) + outputPadding[i] + (dilations[i] * (kernel[i] - 1)) + 1 - pads[i] - pads[i + rank])
                .ToArray();
            return [new TensorInfo(x.ElementType, [x.Shape[0], w.Shape[1] * n.Node.Int("group", 1), .. spatial])];
        };
        t["ScatterElements"] = n => [Same(n)];
        t["ScatterND"] = n => [Same(n)];

        foreach (var op in new[] { "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" })
        {
            t[op] = n =>
            {
                var x = n.In(0);
                return [x with { Shape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray(), Values = null }];
            };
        }

        return t;
    }

    private static TensorInfo Elementwise(ShapeNode n)
    {
        var inputs = Enumerable.Range(0, n.InputCount).Where(n.HasInput).Select(n.In).ToArray();
        var shape = inputs.Select(i => i.Shape).Aggregate(Broadcast);
        string op = n.Node.OpType;
        int type = op is "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "And" or "Or" or "Xor"
            ? ElementType.Bool
            : op == "Where" ? inputs[1].ElementType : inputs[0].ElementType;
        long[]? values = null;
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (inputs.All(i => i.Values is not null) && shape.Length <= 1 && count <= 1024)
        {
            values = new long[count];
            for (int k = 0; k < count; k++)
            {
                var args = inputs.Select(i => i.Values!.Length == 1 ? i.Values[0] : i.Values[k]).ToArray();
                values[k] = op switch
                {
                    "Add" or "Sum" => args.Sum(),
                    "Sub" => args[0] - args[1],
                    "Mul" => args[0] * args[1],
                    "Div" => args[0] / args[1],
                    "Mod" => args[0] % args[1],
                    "Max" => args.Max(),
                    "Min" => args.Min(),
                    "Equal" => args[0] == args[1] ? 1 : 0,
                    "Less" => args[0] < args[1] ? 1 : 0,
                    "Greater" => args[0] > args[1] ? 1 : 0,
                    "Where" => args[0] != 0 ? args[1] : args[2],
                    _ => long.MinValue,
                };
            }

            if (values.Contains(long.MinValue))
            {
                values = null;
            }
        }

        return new TensorInfo(type, shape, values);
    }

    private static TensorInfo ConstantValue(NodeProto node)
    {
        if (node.Find("value")?.T is { } tensor)
        {
            return new TensorInfo(tensor.DataType, tensor.Dims.ToArray(), OnnxProto.ReadIntegers(tensor));
        }

        if (node.Find("value_int") is { } vi)
        {
            return new TensorInfo(ElementType.Int64, [], [vi.I]);
        }

        if (node.Find("value_ints") is { } vis)
        {
            return new TensorInfo(ElementType.Int64, [vis.Ints.Count], vis.Ints.ToArray());
        }

        if (node.Find("value_float") is not null)
        {
            return new TensorInfo(ElementType.Float, []);
        }

        if (node.Find("value_floats") is { } vfs)
        {
            return new TensorInfo(ElementType.Float, [vfs.Floats.Count]);
        }

        throw new ArgumentException("unsupported Constant attribute");
    }

    public static long[] ReshapeTarget(long[] input, long[] target, bool allowZero)
    {
        var shape = (long[])target.Clone();
        long known = 1;
        int inferred = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 0 && !allowZero)
            {
                shape[i] = input[i];
            }

            if (shape[i] == -1)
            {
                inferred = i;
            }
            else
            {
                known *= shape[i];
            }
        }

        long total = input.Aggregate(1L, (a, b) => a * b);
        if (inferred >= 0)
        {
            shape[inferred] = known == 0 ? 0 : total / known;
        }

        if (shape.Aggregate(1L, (a, b) => a * b) != total)
        {
            throw new ArgumentException($"cannot reshape [{string.Join(",", input)}] to [{string.Join(",", target)}]");
        }

        return shape;
    }

    public static long[] SplitSizes(ShapeNode n, long dim, int outputs)
    {
        if (n.Node.Ints("split") is { } attr)
        {
            return attr;
        }

        if (n.HasInput(1))
        {
            return n.Values(1);
        }

        long chunk = (dim + outputs - 1) / outputs;
        return Enumerable.Range(0, outputs).Select(i => Math.Min(chunk, dim - (i * chunk))).ToArray();
    }

    /// <summary>Pads as [begin..., end...] over all axes (attribute in opset &lt; 11, inputs with optional axes later).</summary>
    public static long[] PadAmounts(ShapeNode n, int rank)
    {
        var raw = n.Node.Ints("pads") ?? n.Values(1);
        if (!n.HasInput(3))
        {
            return raw;
        }

        var axes = n.Values(3).Select(a => NormalizeAxis(a, rank)).ToArray();
        var pads = new long[2 * rank];
        for (int i = 0; i < axes.Length; i++)
        {
            pads[axes[i]] = raw[i];
            pads[axes[i] + rank] = raw[i + axes.Length];
        }

        return pads;
    }

    public static HashSet<int> ReduceAxes(ShapeNode n, int rank)
    {
        if (n.Node.OpType.StartsWith("Arg", StringComparison.Ordinal))
        {
            return [NormalizeAxis(n.Node.Int("axis", 0), rank)];
        }

        var axes = n.Axes(1);
        if (axes is null || axes.Length == 0)
        {
            return n.Node.Int("noop_with_empty_axes", 0) != 0 ? [] : Enumerable.Range(0, rank).ToHashSet();
        }

        return axes.Select(a => NormalizeAxis(a, rank)).ToHashSet();
    }
}

/// <summary>Resolved geometry of a sliding window (Conv and pooling) for one input shape.</summary>
internal sealed record WindowGeometry(long[] Input, long[] Kernel, long[] Strides, long[] Dilations, long[] PadBegin, long[] PadEnd, long[] Output);

/// <summary>Slice bounds resolved against a static shape with the clamping rules of the ONNX specification, for every axis.</summary>
internal sealed record SliceBounds(long[] Start, long[] End, long[] Step, long[] OutputShape)
{
    public static SliceBounds Resolve(ShapeNode n, long[] shape)
    {
        int rank = shape.Length;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (n.Node.Ints("starts") is { } startsAttr)
        {
            starts = startsAttr;
            ends = n.Node.Ints("ends")!;
            axes = n.Node.Ints("axes");
        }
        else
        {
            starts = n.Values(1);
            ends = n.Values(2);
            axes = n.HasInput(3) ? n.Values(3) : null;
            steps = n.HasInput(4) ? n.Values(4) : null;
        }

        var start = new long[rank];
        var end = (long[])shape.Clone();
        var step = Enumerable.Repeat(1L, rank).ToArray();
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = ShapeInference.NormalizeAxis(axes?[i] ?? i, rank);
            long dim = shape[axis];
            long s = steps?[i] ?? 1;
            long b = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (s > 0)
            {
                b = Math.Clamp(b, 0, dim);
                e = Math.Clamp(e, 0, dim);
            }
            else
            {
                b = Math.Clamp(b, 0, dim - 1);
                e = Math.Clamp(e, -1, dim - 1);
            }

            (start[axis], end[axis], step[axis]) = (b, e, s);
        }

        var output = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long span = step[i] > 0 ? end[i] - start[i] : start[i] - end[i];
            long stepSize = Math.Abs(step[i]);
            output[i] = Math.Max(0, (span + stepSize - 1) / stepSize);
        }

        return new SliceBounds(start, end, step, output);
    }
}
