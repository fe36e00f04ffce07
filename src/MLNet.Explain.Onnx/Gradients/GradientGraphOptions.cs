namespace MLNet.Explain.Onnx;

/// <summary>What the gradient graph computes: which output is seeded, which tensors get gradients, and the batch it is built for.</summary>
public sealed class GradientGraphOptions
{
    /// <summary>Rows per ONNX Runtime run. The graph is built with this static batch size; a fixed batch of 1 in the model is rewritten to it. Runs with fewer rows are padded.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>The model output whose upstream gradient (cotangent) is fed in; default: the model's first output.</summary>
    public string? OutputName { get; set; }

    /// <summary>Tensors to differentiate with respect to: model inputs and/or intermediate tensors by name; default: every floating-point model input.</summary>
    public IList<string> WithRespectTo { get; } = new List<string>();

    /// <summary>Further forward tensors (intermediate activations) to return with their values. Intermediate tensors in <see cref="WithRespectTo"/> are returned too.</summary>
    public IList<string> ExposedTensors { get; } = new List<string>();

    /// <summary>The Relu gradient rule: standard, Guided Backprop or Deconvnet.</summary>
    public ReluGradientMode ReluMode { get; set; } = ReluGradientMode.Standard;

    /// <summary>Sizes of symbolic non-batch input dimensions (by dim_param name), for models exported with dynamic sizes such as a sequence length.</summary>
    public IDictionary<string, long> Dimensions { get; } = new Dictionary<string, long>();
}
