namespace MLNet.Explain.Onnx.Gradients;

/// <summary>Static type and shape of one tensor for the chosen batch size; <see cref="Values"/> holds the content of small integer tensors that could be computed at build time (shape subgraphs).</summary>
internal sealed record TensorInfo(int ElementType, long[] Shape, long[]? Values = null)
{
    public int Rank => Shape.Length;

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    public override string ToString() => $"{Gradients.ElementType.Name(ElementType)}[{string.Join(",", Shape)}]";
}
