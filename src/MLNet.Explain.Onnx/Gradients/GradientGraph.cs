using Google.Protobuf;
using Onnx;

namespace MLNet.Explain.Onnx;

/// <summary>
/// A generated forward+backward ONNX graph. Inputs: the model inputs and <see cref="CotangentInputName"/> (the upstream gradient of
/// <see cref="OutputName"/>). Outputs: <see cref="ForwardOutputs"/> (values) and one gradient per requested tensor (<see cref="GradientOutputNames"/>).
/// </summary>
public sealed class GradientGraph
{
    private readonly HashSet<string> _batched;

    internal GradientGraph(ModelProto model, int batchSize, string outputName, string cotangentInputName, IReadOnlyList<string> inputNames,
        IReadOnlyList<string> forwardOutputs, IReadOnlyDictionary<string, string> gradientOutputNames, IReadOnlyDictionary<string, long[]> shapes, HashSet<string> batched)
    {
        Model = model;
        BatchSize = batchSize;
        OutputName = outputName;
        CotangentInputName = cotangentInputName;
        InputNames = inputNames;
        ForwardOutputs = forwardOutputs;
        GradientOutputNames = gradientOutputNames;
        Shapes = shapes;
        _batched = batched;
    }

    internal ModelProto Model { get; }

    /// <summary>The static batch size the graph was built for.</summary>
    public int BatchSize { get; }

    /// <summary>The seeded model output.</summary>
    public string OutputName { get; }

    /// <summary>The graph input receiving the upstream gradient of <see cref="OutputName"/> (same shape as that output).</summary>
    public string CotangentInputName { get; }

    /// <summary>The model inputs, in model order.</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>Forward tensors returned with their values: the seeded output first, then exposed and intermediate tensors.</summary>
    public IReadOnlyList<string> ForwardOutputs { get; }

    /// <summary>Graph output name of the gradient of each requested tensor.</summary>
    public IReadOnlyDictionary<string, string> GradientOutputNames { get; }

    /// <summary>Static shapes (batch included) of every graph input and output.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; }

    /// <summary>Whether a graph input or output has the batch as its first axis (gradients of initializers do not: they are summed over rows).</summary>
    public bool IsBatched(string graphTensor) => _batched.Contains(graphTensor);

    /// <summary>Every operator type used by the generated graph.</summary>
    public IReadOnlyCollection<string> OperatorTypes => Model.Graph.Node.Select(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}").ToHashSet();

    /// <summary>The serialized ONNX model.</summary>
    public byte[] ToBytes() => Model.ToByteArray();

    /// <summary>Writes the generated model to a file for inspection (e.g. with Netron).</summary>
    public void Save(string path) => File.WriteAllBytes(path, ToBytes());
}
