using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of Guided Backpropagation (Springenberg et al. 2015).</summary>
public sealed class GuidedBackpropOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "GuidedBackprop";
}

/// <summary>The input gradient with every Relu passing back only positive gradients where its input was positive.</summary>
internal sealed class GuidedBackprop(GuidedBackpropOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model) => [ExplanationColumn.Tensor(options.OutputColumnName, model.InputShape)];

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var gradients = InputGradients(model, block, ReluGradientMode.Guided);
        for (int r = 0; r < block.Count; r++) outputs[r][0] = gradients[r];
    }
}
