using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>
/// Brings a loaded model into the one form the gradient rules are written for: the ai.onnx opset raised to at least
/// <see cref="MinimumOpset"/> (rewriting the operators whose signature changed on the way), a static batch dimension, and static shapes
/// for every tensor. See docs/onnx-gradients.md for why the graph is upgraded instead of emitting per-opset rules.
/// </summary>
internal static class GraphNormalizer
{
    /// <summary>Opset of the emitted graphs: ScatterElements with reduction (16) and Reduce* axes as inputs (18) are used by the rules.</summary>
    public const int MinimumOpset = 18;

    public const int OldestSupportedOpset = 7;

    private delegate void Upgrade(GraphEmitter g, NodeProto node, int fromOpset, ISet<string> consumed);

    /// <summary>Per operator: the opset at which its signature changed, and the rewrite into the new signature.</summary>
    private static readonly Dictionary<string, (int ChangedAt, Upgrade Rewrite)> Upgrades = BuildUpgrades();

    public static GraphEmitter Normalize(ModelProto model, int batchSize, IReadOnlyDictionary<string, long> dimensions)
    {
        int opset = OnnxProto.AiOnnxOpset(model);
        if (opset < OldestSupportedOpset)
        {
            throw new NotSupportedException($"The model uses ai.onnx opset {opset}; the gradient engine supports opset {OldestSupportedOpset} and later.");
        }

        var graph = model.Graph;
        var info = new Dictionary<string, TensorInfo>();
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
        foreach (var init in graph.Initializer)
        {
            info[init.Name] = new TensorInfo(init.DataType, init.Dims.ToArray(), OnnxProto.ReadIntegers(init) is { Length: <= 4096 } v ? v : null);
        }

        bool fixedBatchOne = false;
        foreach (var input in graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            var (shape, wasOne) = InputShape(input, batchSize, dimensions);
            fixedBatchOne |= wasOne;
            info[input.Name] = new TensorInfo(input.Type.TensorType.ElemType, shape);
        }

        var emitter = new GraphEmitter(graph, opset, info) { Prefix = "normalize" };
        var originalNodes = graph.Node.ToList();
        graph.Node.Clear();
        foreach (var node in originalNodes)
        {
            if (fixedBatchOne && batchSize != 1 && node.OpType == "Reshape")
            {
                RewriteBatchOfReshape(emitter, node, initializers, batchSize);
            }

            emitter.Append(node);
        }

        int target = Math.Max(opset, MinimumOpset);
        if (opset < target)
        {
            UpgradeOpset(emitter, opset, target);
        }

        foreach (var o in model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx"))
        {
            o.Version = target;
        }

        model.IrVersion = Math.Max(model.IrVersion, 8);
        graph.ValueInfo.Clear();
        foreach (var valueInfo in graph.Input.Where(i => !initializers.Contains(i.Name)).Concat(graph.Output))
        {
            if (info.TryGetValue(valueInfo.Name, out var known))
            {
                SetShape(valueInfo, known.Shape);
            }
        }

        // Initializers listed as graph inputs (IR < 4 style) could be overridden at run time and block constant folding.
        var declared = graph.Input.Where(i => initializers.Contains(i.Name)).ToList();
        foreach (var d in declared)
        {
            graph.Input.Remove(d);
        }

        return new GraphEmitter(graph, target, RebuildInfo(graph, info, target)) { Prefix = "grad" };
    }

    public static void SetShape(ValueInfoProto valueInfo, long[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var d in shape)
        {
            tensorShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        valueInfo.Type.TensorType.Shape = tensorShape;
    }

    private static Dictionary<string, TensorInfo> RebuildInfo(GraphProto graph, Dictionary<string, TensorInfo> previous, int opset)
    {
        var info = new Dictionary<string, TensorInfo>();
        foreach (var init in graph.Initializer)
        {
            info[init.Name] = previous[init.Name];
        }

        foreach (var input in graph.Input)
        {
            info[input.Name] = previous[input.Name];
        }

        ShapeInference.Run(graph.Node, info, opset);
        return info;
    }

    private static (long[] Shape, bool FixedBatchOne) InputShape(ValueInfoProto input, int batchSize, IReadOnlyDictionary<string, long> dimensions)
    {
        if (input.Type?.TensorType is not { } tensorType || tensorType.Shape is null)
        {
            throw new InvalidDataException($"Model input '{input.Name}' is not a tensor with a known rank.");
        }

        var dims = tensorType.Shape.Dim;
        var shape = new long[dims.Count];
        bool fixedOne = false;
        for (int i = 0; i < dims.Count; i++)
        {
            var d = dims[i];
            if (i == 0)
            {
                if (d.HasDimValue && d.DimValue > 0 && d.DimValue != 1 && d.DimValue != batchSize)
                {
                    throw new NotSupportedException($"Model input '{input.Name}' has a fixed batch dimension of {d.DimValue}; only a symbolic batch or a fixed batch of 1 can be rewritten to batch {batchSize}.");
                }

                fixedOne = d.HasDimValue && d.DimValue == 1;
                shape[i] = batchSize;
            }
            else if (d.HasDimValue && d.DimValue > 0)
            {
                shape[i] = d.DimValue;
            }
            else if (d.HasDimParam && dimensions.TryGetValue(d.DimParam, out var size))
            {
                shape[i] = size;
            }
            else
            {
                throw new InvalidDataException($"Dimension {i} of model input '{input.Name}' is symbolic ('{d.DimParam}'); give its size in {nameof(GradientGraphOptions)}.{nameof(GradientGraphOptions.Dimensions)}.");
            }
        }

        return (shape, fixedOne);
    }

    /// <summary>
    /// Legacy exports with a fixed batch of 1 often reshape with a constant target such as [1, -1]. When the data being reshaped carries the
    /// new batch in its first axis, the constant's leading 1 is the batch too and becomes the chosen batch size.
    /// </summary>
    private static void RewriteBatchOfReshape(GraphEmitter g, NodeProto node, HashSet<string> initializers, int batchSize)
    {
        if (node.Input.Count < 2 || !g.Info.TryGetValue(node.Input[0], out var data) || !g.Info.TryGetValue(node.Input[1], out var target) ||
            target.Values is not { Length: > 0 } values || values[0] != 1 || data.Rank == 0 || data.Shape[0] != batchSize)
        {
            return;
        }

        bool isConstant = initializers.Contains(node.Input[1]) || g.Graph.Node.Any(n => n.OpType == "Constant" && n.Output.Contains(node.Input[1]));
        if (isConstant)
        {
            node.Input[1] = g.Int64s([batchSize, .. values[1..]]);
        }
    }

    private static void UpgradeOpset(GraphEmitter g, int from, int to)
    {
        var nodes = g.Graph.Node.ToList();
        var consumed = nodes.SelectMany(n => n.Input).Concat(g.Graph.Output.Select(o => o.Name)).ToHashSet();
        g.Graph.Node.Clear();
        foreach (var node in nodes)
        {
            if (node.OpType is "If" or "Loop" or "Scan")
            {
                throw new NotSupportedException($"{OnnxProto.Describe(node)} (opset {from}) holds a subgraph; the gradient engine cannot raise the opset of models with control flow to {to}.");
            }

            if (node.Domain is "" or "ai.onnx" && Upgrades.TryGetValue(node.OpType, out var upgrade) && from < upgrade.ChangedAt)
            {
                upgrade.Rewrite(g, node, from, consumed);
            }
            else
            {
                g.Graph.Node.Add(node);
            }
        }

    }

    private static Dictionary<string, (int, Upgrade)> BuildUpgrades()
    {
        var u = new Dictionary<string, (int, Upgrade)>
        {
            ["Dropout"] = (int.MaxValue, (g, n, _, consumed) =>
            {
                if (n.Output.Count > 1 && n.Output[1].Length > 0 && consumed.Contains(n.Output[1]))
                {
                    throw new NotSupportedException($"{OnnxProto.Describe(n)} uses its mask output; only inference-mode Dropout is supported.");
                }

                Keep(g, OnnxProto.Node("Identity", [n.Input[0]], [n.Output[0]], n.Name));
            }),
            ["BatchNormalization"] = (9, (g, n, _, _) =>
            {
                if (n.Int("spatial", 1) == 0)
                {
                    throw new NotSupportedException($"{OnnxProto.Describe(n)} uses spatial=0, which opset 9 removed.");
                }

                n.RemoveAttribute("spatial");
                n.RemoveAttribute("is_test");
                n.RemoveAttribute("consumed_inputs");
                while (n.Output.Count > 1)
                {
                    n.Output.RemoveAt(n.Output.Count - 1);
                }

                Keep(g, n);
            }),
            ["Pad"] = (11, (g, n, _, _) =>
            {
                var pads = n.Ints("pads") ?? n.Ints("paddings")!;
                float value = n.Float("value", 0f);
                n.RemoveAttribute("pads");
                n.RemoveAttribute("paddings");
                n.RemoveAttribute("value");
                n.Input.Add(g.Int64s(pads));
                n.Input.Add(g.Scalar(value, g.Type(n.Input[0])));
                Keep(g, n);
            }),
            ["Clip"] = (11, (g, n, _, _) =>
            {
                int type = g.Type(n.Input[0]);
                string min = n.Has("min") ? g.Scalar(n.Float("min", 0), type) : "";
                string max = n.Has("max") ? g.Scalar(n.Float("max", 0), type) : "";
                n.RemoveAttribute("min");
                n.RemoveAttribute("max");
                n.Input.Add(min);
                n.Input.Add(max);
                Keep(g, n);
            }),
            ["Squeeze"] = (13, AxesToInput),
            ["Unsqueeze"] = (13, AxesToInput),
            ["ReduceSum"] = (13, AxesToInput),
            ["Split"] = (18, (g, n, _, _) =>
            {
                if (n.Input.Count < 2 || n.Input[1].Length == 0)
                {
                    var x = g[n.Input[0]];
                    int axis = ShapeInference.NormalizeAxis(n.Int("axis", 0), x.Rank);
                    var sizes = n.Ints("split") ?? n.Output.Select(o => g.Shape(o)[axis]).ToArray();
                    n.RemoveAttribute("split");
                    while (n.Input.Count > 1)
                    {
                        n.Input.RemoveAt(1);
                    }

                    n.Input.Add(g.Int64s(sizes));
                }

                Keep(g, n);
            }),
            ["Slice"] = (10, (g, n, _, _) =>
            {
                var starts = n.Ints("starts")!;
                var ends = n.Ints("ends")!;
                var axes = n.Ints("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                foreach (var a in new[] { "starts", "ends", "axes" })
                {
                    n.RemoveAttribute(a);
                }

                n.Input.Add(g.Int64s(starts));
                n.Input.Add(g.Int64s(ends));
                n.Input.Add(g.Int64s(axes));
                Keep(g, n);
            }),
        };
        foreach (var op in new[] { "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare" })
        {
            u[op] = (18, AxesToInput);
        }

        foreach (var op in new[] { "Softmax", "LogSoftmax", "Hardmax" })
        {
            u[op] = (13, SoftmaxAxis);
        }

        foreach (var (op, version) in new[] { ("Upsample", int.MaxValue), ("Scatter", int.MaxValue), ("Resize", 11), ("TopK", 10) })
        {
            u[op] = (version, (_, n, from, _) => throw new NotSupportedException(
                $"{OnnxProto.Describe(n)} (opset {from}) changed its signature before opset {MinimumOpset} and the gradient engine has no rewrite for it; re-export the model at opset {MinimumOpset} or later."));
        }

        return u;
    }

    private static void Keep(GraphEmitter g, NodeProto node) => g.Append(node);

    private static void AxesToInput(GraphEmitter g, NodeProto node, int from, ISet<string> consumed)
    {
        if (node.Ints("axes") is { } axes)
        {
            node.RemoveAttribute("axes");
            node.Input.Add(g.Int64s(axes));
        }

        Keep(g, node);
    }

    /// <summary>Before opset 13 Softmax flattened the input to 2-D at <c>axis</c> (default 1) and normalized over the whole trailing block.</summary>
    private static void SoftmaxAxis(GraphEmitter g, NodeProto node, int from, ISet<string> consumed)
    {
        var x = g[node.Input[0]];
        int axis = ShapeInference.NormalizeAxis(node.Int("axis", 1), x.Rank);
        if (axis == x.Rank - 1)
        {
            node.SetAttribute("axis", (long)axis);
            Keep(g, node);
            return;
        }

        var flat = g.Op("Flatten", [node.Input[0]], ("axis", (long)axis));
        var normalized = g.Op(node.OpType, [flat], ("axis", 1L));
        Keep(g, OnnxProto.Node("Reshape", [normalized, g.Int64s(x.Shape)], [node.Output[0]], node.Name));
    }
}
