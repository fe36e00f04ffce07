using MLNet.Explain.Onnx.Saliency;

namespace Microsoft.ML;

/// <summary>Gradient saliency stages for ONNX models on <c>mlContext.Explain()</c>.</summary>
public static class SaliencyCatalog
{
    /// <summary>Vanilla gradient saliency: d target / d input per row.</summary>
    public static SaliencyEstimator Saliency(this ExplainCatalog catalog, VanillaGradientOptions options)
        => new(catalog, new VanillaGradient(Require(options)));

    /// <summary>Gradient × Input per row.</summary>
    public static SaliencyEstimator GradientTimesInput(this ExplainCatalog catalog, GradientTimesInputOptions options)
        => new(catalog, new GradientTimesInput(Require(options)));

    /// <summary>SmoothGrad, SmoothGrad² or VarGrad over noisy copies of each row.</summary>
    public static SaliencyEstimator SmoothGrad(this ExplainCatalog catalog, SmoothGradOptions options)
        => new(catalog, new SmoothGrad(Require(options)));

    /// <summary>Integrated Gradients per row, with the completeness delta in a second column.</summary>
    public static SaliencyEstimator IntegratedGradients(this ExplainCatalog catalog, IntegratedGradientsOptions options)
        => new(catalog, new IntegratedGradients(Require(options)));

    /// <summary>Grad-CAM at a convolutional tensor: the coarse map and the map upsampled to the input size.</summary>
    public static SaliencyEstimator GradCam(this ExplainCatalog catalog, GradCamOptions options)
        => new(catalog, new GradCam(Require(options)));

    /// <summary>Guided Backpropagation per row.</summary>
    public static SaliencyEstimator GuidedBackprop(this ExplainCatalog catalog, GuidedBackpropOptions options)
        => new(catalog, new GuidedBackprop(Require(options)));

    /// <summary>Guided Grad-CAM per row.</summary>
    public static SaliencyEstimator GuidedGradCam(this ExplainCatalog catalog, GuidedGradCamOptions options)
        => new(catalog, new GuidedGradCam(Require(options)));

    /// <summary>Occlusion: forward passes with sliding windows replaced by a baseline.</summary>
    public static SaliencyEstimator Occlusion(this ExplainCatalog catalog, OcclusionOptions options)
        => new(catalog, new Occlusion(Require(options)));

    private static T Require<T>(T options) where T : SaliencyOptions
        => options ?? throw new ArgumentNullException(nameof(options));
}
