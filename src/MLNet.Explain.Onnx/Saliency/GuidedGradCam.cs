using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of Guided Grad-CAM: Guided Backprop multiplied by the upsampled Grad-CAM map.</summary>
public sealed class GuidedGradCamOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "GuidedGradCam";

    /// <summary>The Grad-CAM tensor; default: the output of the graph's last Conv node.</summary>
    public string? TensorName { get; set; }

    public Upsampling Upsampling { get; set; } = Upsampling.Bilinear;
}

/// <summary>Guided Grad-CAM (Selvaraju et al. 2017): pixel-precise Guided Backprop restricted to the class-discriminative Grad-CAM regions.</summary>
internal sealed class GuidedGradCam(GuidedGradCamOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model)
    {
        GradCam.Layer.Of(model, options.TensorName);
        return [ExplanationColumn.Tensor(options.OutputColumnName, model.InputShape)];
    }

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var layer = GradCam.Layer.Of(model, options.TensorName);
        var maps = layer.Maps(model, block, relu: true);
        var guided = InputGradients(model, block, ReluGradientMode.Guided);
        int plane = layer.InputHeight * layer.InputWidth;
        for (int r = 0; r < block.Count; r++)
        {
            var cam = layer.Upsample(maps[r], options.Upsampling);
            var attribution = guided[r];
            for (int i = 0; i < attribution.Length; i++) attribution[i] *= cam[i % plane];
            outputs[r][0] = attribution;
        }
    }
}
