using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>What a gradient rule sees of one forward node: its tensors, the gradients flowing into its outputs, and the emitter for the backward nodes.</summary>
internal sealed class VjpContext(NodeProto node, GraphEmitter emitter, string?[] outputGradients, bool[] needed, ReluGradientMode reluMode, int modelOpset)
{
    private readonly string?[] _inputGradients = new string?[node.Input.Count];

    public NodeProto Node { get; } = node;

    public GraphEmitter G { get; } = emitter;

    public ReluGradientMode ReluMode { get; } = reluMode;

    public string X => Node.Input[0];

    public string Y => Node.Output[0];

    /// <summary>The gradient flowing into output 0 (always present when the node is on the gradient path through output 0).</summary>
    public string Dy => OutGrad(0) ?? G.ZerosLike(Y);

    public string In(int i) => Node.Input[i];

    public bool HasInput(int i) => i < Node.Input.Count && Node.Input[i].Length > 0;

    public string? OutGrad(int i) => i < outputGradients.Length ? outputGradients[i] : null;

    /// <summary>Whether the gradient of input <paramref name="i"/> is needed (it lies on the path from the requested tensors).</summary>
    public bool Needs(int i) => i < needed.Length && needed[i];

    public long[] Shape(string tensor) => G.Shape(tensor);

    public int Type(string tensor) => G.Type(tensor);

    public ShapeNode View() => new(Node, Node.Input.Select(i => i.Length > 0 && G.Info.TryGetValue(i, out var t) ? t : null).ToArray(), G.Opset);

    public void Set(int i, string gradient) => _inputGradients[i] = gradient;

    public string? Get(int i) => _inputGradients[i];

    public UnsupportedOperatorException Unsupported(string what) => new(Node.OpType, Node.Name, modelOpset, what);
}
