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

    /// <summary>
    /// Completeness with 50 Gauss–Legendre steps on the digits CNN: |delta| ≤ 1% of |f(x) − f(0)| on the reference rows. On 40 rows of digits.csv
    /// ReLU and MaxPool switches along the path (kinks no quadrature rule integrates exactly) push a few rows past 1% (measured: 35 of 40 within 1%, worst 4.1%): at least 85% of the rows meet
    /// 1% and every row meets 5% of max(1, |f(x) − f(0)|) (the max guards rows whose top logit barely moves from the zero image).
    /// </summary>
    [TestMethod]
    public void IntegratedGradientsAreCompleteWithin1PercentOnTheDigitsCnn()
    {
        var model = TestModels.Get("digits_cnn");
        var reference = RelativeDeltas(ReferenceData(Ml, model), SaliencyTarget.IndexColumn("target"));
        Assert.IsTrue(reference.All(d => d <= 0.01), $"reference rows: relative deltas {string.Join(", ", reference.Select(d => d.ToString("P3")))}");

        var rows = RelativeDeltas(DigitsRows(40), SaliencyTarget.TopPrediction);
        int within = rows.Count(d => d <= 0.01);
        Console.WriteLine($"digits.csv: {within} of {rows.Length} rows within 1%, worst {rows.Max():P2}");
        Assert.IsTrue(within >= 0.85 * rows.Length, $"only {within} of {rows.Length} rows within 1%");
        Assert.IsTrue(rows.All(d => d <= 0.05), $"worst relative delta {rows.Max():P2}");
    }

    /// <summary>|delta| / max(1, |f(x) − f(baseline)|) per row.</summary>
    private static double[] RelativeDeltas(IDataView data, SaliencyTarget target)
    {
        using var stage = Fit(Ml.Explain().IntegratedGradients(Configure(new IntegratedGradientsOptions { Target = target }, TestModels.Get("digits_cnn"))), data);
        var deltas = Scalars(stage, data, "IntegratedGradientsDelta");
        var attributions = Column(stage, data, "IntegratedGradients");
        int size = attributions.Length / deltas.Length;
        return deltas.Select((delta, r) =>
        {
            double difference = attributions.AsSpan(r * size, size).ToArray().Sum(v => (double)v) - delta;
            Console.WriteLine($"row {r}: f(x) − f(0) = {difference:G5}, delta {delta:G3}");
            return Math.Abs(delta) / Math.Max(1, Math.Abs(difference));
        }).ToArray();
    }

    /// <summary>Rows of tests/data/digits.csv scaled like the digits CNN's training data (pixels / 16), as [1, 8, 8] inputs.</summary>
    internal static IDataView DigitsRows(int count)
    {
        var lines = File.ReadLines(TestData.PathOf("digits.csv")).Skip(1).Take(count);
        var pixels = lines.SelectMany(l => l.Split(',').Take(64).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture) / 16)).ToArray();
        return Data(Ml, pixels, [1, 8, 8]);
    }
}
