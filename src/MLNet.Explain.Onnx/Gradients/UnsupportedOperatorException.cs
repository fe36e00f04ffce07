namespace MLNet.Explain.Onnx;

/// <summary>Thrown while building a gradient graph when an operator on the path from the seeded output to a requested tensor has no gradient rule (or no rule for the requested input).</summary>
public sealed class UnsupportedOperatorException : NotSupportedException
{
    public UnsupportedOperatorException(string opType, string nodeName, int opset, string? detail = null)
        : base($"No gradient for {opType} node '{(nodeName.Length > 0 ? nodeName : "<unnamed>")}' (ai.onnx opset {opset}){(detail is null ? ": the operator has no gradient rule" : $": {detail} is not supported")}. " +
               "It lies on the path from the seeded output to a requested tensor; request gradients at a tensor after it, or open an issue for the rule.")
    {
        OpType = opType;
        NodeName = nodeName;
        Opset = opset;
    }

    /// <summary>The ONNX operator type, e.g. "Resize".</summary>
    public string OpType { get; }

    /// <summary>The node's name in the model (may be empty when the model leaves nodes unnamed).</summary>
    public string NodeName { get; }

    /// <summary>The ai.onnx opset the model declares.</summary>
    public int Opset { get; }
}
