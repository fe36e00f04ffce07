using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of Gradient × Input (Shrikumar et al. 2016): the gradient multiplied elementwise by the input.</summary>
public sealed class GradientTimesInputOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "GradientTimesInput";
}

/// <summary>Gradient × Input: a first-order estimate of each input value's contribution relative to a zero input.</summary>
internal sealed class GradientTimesInput(GradientTimesInputOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model) => [ExplanationColumn.Tensor(options.OutputColumnName, model.InputShape)];

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var gradients = InputGradients(model, block, ReluGradientMode.Standard);
        for (int r = 0; r < block.Count; r++) outputs[r][0] = Multiply(gradients[r], block[r].Input);
    }
}
