using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>
/// Turns a normalized forward graph into a forward+backward graph: finds the nodes on the path from the requested tensors to the seeded
/// output, checks every one has a rule (before anything runs), then walks them in reverse order applying the rules and summing gradients of
/// tensors used more than once.
/// </summary>
internal static class GradientGraphBuilder
{
    public const string CotangentPrefix = "cotangent:";
    public const string GradientPrefix = "gradient:";

    public static GradientGraph Build(ModelProto source, GradientGraphOptions options)
    {
        if (options.BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1.");
        }

        int modelOpset = OnnxProto.AiOnnxOpset(source);
        var model = source.Clone();
        var dimensions = new Dictionary<string, long>(options.Dimensions);
        var g = GraphNormalizer.Normalize(model, options.BatchSize, dimensions);
        var graph = g.Graph;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
        var modelInputs = graph.Input.Select(i => i.Name).ToList();

        string output = options.OutputName ?? graph.Output[0].Name;
        RequireTensor(g, output, "output");
        if (!ElementType.IsFloat(g.Type(output)))
        {
            throw new ArgumentException($"Output '{output}' is {g[output]}; only floating-point outputs can be differentiated.", nameof(options));
        }

        var wrt = options.WithRespectTo.Count > 0
            ? options.WithRespectTo.Distinct().ToList()
            : modelInputs.Where(i => ElementType.IsFloat(g.Type(i))).ToList();
        foreach (var name in wrt)
        {
            RequireTensor(g, name, "tensor to differentiate with respect to");
            if (!ElementType.IsFloat(g.Type(name)))
            {
                throw new ArgumentException($"Tensor '{name}' is {g[name]}; gradients exist only for floating-point tensors.", nameof(options));
            }
        }

        foreach (var name in options.ExposedTensors)
        {
            RequireTensor(g, name, "exposed tensor");
        }

        var forwardNodes = graph.Node.ToList();
        var onPath = FindPath(forwardNodes, g, wrt, output, out var needed);
        foreach (var node in onPath)
        {
            if (node.Domain is not ("" or "ai.onnx") || !GradientRules.TryGet(node.OpType, out _))
            {
                throw new UnsupportedOperatorException(node.OpType, node.Name, modelOpset, node.Domain is "" or "ai.onnx" ? null : $"an operator of domain '{node.Domain}'");
            }
        }

        var batched = BatchedTensors(forwardNodes, modelInputs, g, options.BatchSize);
        if (!batched.Contains(output))
        {
            throw new ArgumentException($"Output '{output}' ({g[output]}) does not carry the batch in its first axis.", nameof(options));
        }

        string cotangent = CotangentPrefix + output;
        graph.Input.Add(ValueInfo(cotangent, g[output]));
        g.Info[cotangent] = g[output] with { Values = null };

        var contributions = new Dictionary<string, List<string>> { [output] = [cotangent] };
        for (int k = onPath.Count - 1; k >= 0; k--)
        {
            var node = onPath[k];
            var outGrads = node.Output.Select(o => o.Length > 0 ? Combine(g, contributions, o) : null).ToArray();
            if (outGrads.All(o => o is null))
            {
                continue;
            }

            var need = node.Input.Select(i => i.Length > 0 && needed.Contains(i)).ToArray();
            var context = new VjpContext(node, g, outGrads, need, options.ReluMode, modelOpset);
            GradientRules.TryGet(node.OpType, out var rule);
            rule(context);
            for (int i = 0; i < need.Length; i++)
            {
                if (!need[i])
                {
                    continue;
                }

                var grad = context.Get(i) ?? throw context.Unsupported($"a gradient with respect to input {i} ('{node.Input[i]}')");
                if (!g.Shape(grad).SequenceEqual(g.Shape(node.Input[i])))
                {
                    throw new InvalidOperationException($"Gradient rule for {OnnxProto.Describe(node)} produced shape [{string.Join(",", g.Shape(grad))}] for input '{node.Input[i]}' of shape [{string.Join(",", g.Shape(node.Input[i]))}].");
                }

                (contributions.TryGetValue(node.Input[i], out var list) ? list : contributions[node.Input[i]] = []).Add(grad);
            }
        }

        var gradientOutputs = new Dictionary<string, string>();
        var forwardOutputs = new List<string> { output };
        forwardOutputs.AddRange(options.ExposedTensors.Concat(wrt).Where(t => !modelInputs.Contains(t) && !initializers.Contains(t)));
        forwardOutputs = forwardOutputs.Distinct().ToList();
        graph.Output.Clear();
        foreach (var name in forwardOutputs)
        {
            graph.Output.Add(ValueInfo(name, g[name]));
        }

        foreach (var name in wrt)
        {
            string gradName = GradientPrefix + name;
            var sum = Combine(g, contributions, name) ?? g.ZerosLike(name);
            graph.Node.Add(OnnxProto.Node("Identity", [sum], [gradName], g.Fresh("gradient_output")));
            g.Info[gradName] = g[name] with { Values = null };
            graph.Output.Add(ValueInfo(gradName, g[name]));
            gradientOutputs[name] = gradName;
        }

        var shapes = graph.Input.Concat(graph.Output).ToDictionary(v => v.Name, v => g.Shape(v.Name));
        return new GradientGraph(model, options.BatchSize, output, cotangent, modelInputs, forwardOutputs, gradientOutputs, shapes,
            batched.Concat([cotangent]).Concat(gradientOutputs.Where(p => batched.Contains(p.Key)).Select(p => p.Value)).ToHashSet());
    }

    private static void RequireTensor(GraphEmitter g, string name, string role)
    {
        if (!g.Info.ContainsKey(name))
        {
            bool exists = g.Graph.Node.Any(n => n.Output.Contains(name));
            throw new ArgumentException(exists
                ? $"The shape of {role} '{name}' could not be inferred: it is produced by an operator without a shape function in the gradient engine."
                : $"The model has no tensor named '{name}' (requested as {role}). Model inputs: {string.Join(", ", g.Graph.Input.Select(i => i.Name))}; outputs: {string.Join(", ", g.Graph.Output.Select(o => o.Name))}.");
        }
    }

    /// <summary>Nodes that carry a floating-point dependency from a requested tensor to the output, in forward order.</summary>
    private static List<NodeProto> FindPath(List<NodeProto> nodes, GraphEmitter g, List<string> wrt, string output, out HashSet<string> needed)
    {
        var reach = wrt.ToHashSet();
        foreach (var node in nodes)
        {
            if (node.Input.Any(reach.Contains))
            {
                foreach (var o in node.Output.Where(o => o.Length > 0 && g.Info.TryGetValue(o, out var t) ? ElementType.IsFloat(t.ElementType) : o.Length > 0))
                {
                    reach.Add(o);
                }
            }
        }

        if (!reach.Contains(output))
        {
            throw new ArgumentException($"Output '{output}' does not depend on {string.Join(", ", wrt.Select(w => $"'{w}'"))}.");
        }

        needed = [output];
        var path = new List<NodeProto>();
        for (int k = nodes.Count - 1; k >= 0; k--)
        {
            var node = nodes[k];
            if (!node.Output.Any(needed.Contains) || !node.Input.Any(reach.Contains))
            {
                continue;
            }

            path.Add(node);
            foreach (var i in node.Input.Where(reach.Contains))
            {
                needed.Add(i);
            }
        }

        path.Reverse();
        return path;
    }

    /// <summary>Tensors computed from the model inputs whose first axis is the batch.</summary>
    private static HashSet<string> BatchedTensors(List<NodeProto> nodes, List<string> inputs, GraphEmitter g, int batch)
    {
        var dependent = inputs.ToHashSet();
        foreach (var node in nodes.Where(n => n.Input.Any(dependent.Contains)))
        {
            foreach (var o in node.Output.Where(o => o.Length > 0))
            {
                dependent.Add(o);
            }
        }

        return dependent.Where(t => g.Info.TryGetValue(t, out var info) && info.Rank > 0 && info.Shape[0] == batch && g.Info[t].Values is null).ToHashSet();
    }

    private static string? Combine(GraphEmitter g, Dictionary<string, List<string>> contributions, string tensor)
    {
        if (!contributions.TryGetValue(tensor, out var list) || list.Count == 0)
        {
            return null;
        }

        if (list.Count > 1)
        {
            var sum = g.Op("Sum", [.. list]);
            list.Clear();
            list.Add(sum);
        }

        return list[0];
    }

    private static ValueInfoProto ValueInfo(string name, TensorInfo info)
    {
        var v = new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = info.ElementType } } };
        GraphNormalizer.SetShape(v, info.Shape);
        return v;
    }
}
