namespace MLNet.Explain.Onnx;

/// <summary>How gradients pass backwards through Relu nodes.</summary>
public enum ReluGradientMode
{
    /// <summary>The true gradient: dY where the input was positive.</summary>
    Standard,

    /// <summary>Guided Backpropagation (Springenberg et al. 2015): only positive gradients, only where the input was positive.</summary>
    Guided,

    /// <summary>Deconvnet (Zeiler and Fergus 2014): positive gradients pass regardless of the forward input.</summary>
    Deconvnet,
}
