using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of the vanilla gradient saliency map (Simonyan et al. 2014): d target / d input.</summary>
public sealed class VanillaGradientOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "Saliency";
}

/// <summary>The gradient of the target with respect to the model input, one backward pass per row.</summary>
internal sealed class VanillaGradient(VanillaGradientOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model) => [ExplanationColumn.Tensor(options.OutputColumnName, model.InputShape)];

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var gradients = InputGradients(model, block, ReluGradientMode.Standard);
        for (int r = 0; r < block.Count; r++) outputs[r][0] = gradients[r];
    }
}
