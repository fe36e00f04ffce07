using MLNet.Explain.Onnx.Gradients;
using Onnx;

namespace MLNet.Explain.Onnx;

/// <summary>
/// Entry point of the ONNX gradient engine: load a model, then build gradient graphs (<see cref="BuildGraph"/>) or sessions that run them
/// (<see cref="CreateSession"/>). Gradients are vector-Jacobian products, computed with standard ai.onnx operators by ONNX Runtime.
/// </summary>
public sealed class OnnxGradientModel
{
    private readonly ModelProto _model;

    private OnnxGradientModel(ModelProto model)
    {
        _model = model;
        Opset = OnnxProto.AiOnnxOpset(model);
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet();
        InputNames = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToArray();
        OutputNames = model.Graph.Output.Select(o => o.Name).ToArray();
    }

    /// <summary>The ai.onnx opset the model declares.</summary>
    public int Opset { get; }

    public IReadOnlyList<string> InputNames { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The operators that have gradient rules.</summary>
    public static IEnumerable<string> SupportedOperators => GradientRules.SupportedOperators;

    public static OnnxGradientModel Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        }

        return FromBytes(File.ReadAllBytes(path));
    }

    public static OnnxGradientModel FromBytes(byte[] bytes)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("The bytes are not an ONNX model (protobuf ModelProto).", e);
        }

        if (model.Graph is null)
        {
            throw new InvalidDataException("The ONNX model has no graph.");
        }

        return new OnnxGradientModel(model);
    }

    internal static OnnxGradientModel FromProto(ModelProto model) => new(model.Clone());

    /// <summary>The forward model after normalization (opset upgrade, static batch) without any backward nodes: the baseline of benchmarks.</summary>
    internal byte[] NormalizedForwardModel(int batchSize)
    {
        var model = _model.Clone();
        GraphNormalizer.Normalize(model, batchSize, new Dictionary<string, long>());
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    /// <summary>Builds the forward+backward graph. Fails before anything runs when an operator on the gradient path has no rule.</summary>
    public GradientGraph BuildGraph(GradientGraphOptions options) => GradientGraphBuilder.Build(_model, options);

    /// <summary>Builds the gradient graph and an ONNX Runtime session for it.</summary>
    public GradientSession CreateSession(GradientGraphOptions options, GradientSessionOptions? sessionOptions = null) =>
        new(BuildGraph(options), sessionOptions ?? new GradientSessionOptions());
}
