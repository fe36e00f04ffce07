using Microsoft.ML;
using MLNet.Explain.Onnx.Saliency;
using static MLNet.Explain.Tests.Onnx.SaliencyTestData;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>The saliency stages against PyTorch float64 references of the test models (tests/models/ref), relative L2 error ≤ 1e-3.</summary>
[TestClass]
public sealed class SaliencyReferenceTests
{
    private const double Tolerance = 1e-3;

    private static readonly MLContext Ml = new(seed: 1);

    private static T Configure<T>(T options, TestModel model) where T : SaliencyOptions
    {
        options.ModelPath = model.ModelPath;
        options.InputColumnName = "input";
        options.Target = SaliencyTarget.IndexColumn("target");
        options.BatchSize = 8;
        return options;
    }

    [TestMethod]
    [DataRow("digits_cnn")]
    [DataRow("cnn_bn_maxpool")]
    [DataRow("cnn_opset8")]
    [DataRow("attention_ln_gelu")]
    public void VanillaGradientAndGradientTimesInputMatchPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var data = ReferenceData(Ml, model);
        using var saliency = Fit(Ml.Explain().Saliency(Configure(new VanillaGradientOptions(), model)), data);
        AssertClose(Column(saliency, data, "Saliency"), model.Reference("gradient").Data, Tolerance, $"{name} gradient");
        using var gxi = Fit(Ml.Explain().GradientTimesInput(Configure(new GradientTimesInputOptions(), model)), data);
        AssertClose(Column(gxi, data, "GradientTimesInput"), model.Reference("gradient_x_input").Data, Tolerance, $"{name} gradient x input");
    }

    [TestMethod]
    [DataRow("digits_cnn", IntegrationRule.GaussLegendre, "ig_gauss_legendre_50")]
    [DataRow("digits_cnn", IntegrationRule.RiemannMiddle, "ig_riemann_middle_50")]
    [DataRow("cnn_bn_maxpool", IntegrationRule.GaussLegendre, "ig_gauss_legendre_50")]
    [DataRow("attention_ln_gelu", IntegrationRule.RiemannMiddle, "ig_riemann_middle_50")]
    public void IntegratedGradientsMatchPyTorchAndReportTheirDelta(string name, IntegrationRule rule, string reference)
    {
        var model = TestModels.Get(name);
        var data = ReferenceData(Ml, model);
        using var stage = Fit(Ml.Explain().IntegratedGradients(Configure(new IntegratedGradientsOptions { Rule = rule }, model)), data);
        var attributions = Column(stage, data, "IntegratedGradients");
        AssertClose(attributions, model.Reference(reference).Data, Tolerance, $"{name} {reference}");

        var deltas = Scalars(stage, data, "IntegratedGradientsDelta");
        var atInput = model.Reference("target_logit").Data;
        var atBaseline = model.Reference("target_logit_at_baseline").Data;
        int size = attributions.Length / deltas.Length;
        for (int r = 0; r < deltas.Length; r++)
        {
            double sum = attributions.AsSpan(r * size, size).ToArray().Sum(v => (double)v);
            double expected = sum - (atInput[r] - atBaseline[r]);
            Assert.AreEqual(expected, deltas[r], 1e-4 * Math.Max(1, Math.Abs(atInput[r] - atBaseline[r])), $"row {r}: delta = Σ attributions − (f(x) − f(baseline))");
        }
    }

    [TestMethod]
    [DataRow("digits_cnn")]
    [DataRow("cnn_bn_maxpool")]
    public void GradCamBeforeUpsamplingMatchesPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var data = ReferenceData(Ml, model);
        using var stage = Fit(Ml.Explain().GradCam(Configure(new GradCamOptions { TensorName = model.GradCamTensor }, model)), data);
        AssertClose(Column(stage, data, "GradCam"), model.Reference("gradcam").Data, Tolerance, $"{name} Grad-CAM");
        var upsampled = Column(stage, data, "GradCamUpsampled");
        var inputShape = model.Reference("input").Shape;
        Assert.HasCount(4 * (int)(inputShape[^1] * inputShape[^2]), upsampled);
        Assert.IsTrue(upsampled.All(v => v >= 0), "the ReLU'd map stays non-negative after bilinear upsampling");
    }

    [TestMethod]
    [DataRow("digits_cnn")]
    [DataRow("cnn_bn_maxpool")]
    public void GuidedBackpropMatchesPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var data = ReferenceData(Ml, model);
        using var stage = Fit(Ml.Explain().GuidedBackprop(Configure(new GuidedBackpropOptions(), model)), data);
        AssertClose(Column(stage, data, "GuidedBackprop"), model.Reference("guided_backprop").Data, Tolerance, $"{name} guided backprop");
    }
}
