using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNet.Explain.Onnx;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;
using static MLNet.Explain.Tests.Onnx.SaliencyTestData;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>Properties of the saliency stages: the sanity check, targets, batching bound, noise, occlusion, the ML.NET linear head, and bad input.</summary>
[TestClass]
public sealed class SaliencyBehaviourTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private static string Digits => TestModels.Get("digits_cnn").ModelPath;

    private static IDataView DigitsData(int rows) => DigitsRows(Ml, rows);

    [TestMethod]
    public void RandomizingTheLastLayerChangesTheSaliencyMaps()
    {
        // Adebayo et al. 2018: a saliency method that explains the model must change when the model's weights are randomized.
        var data = DigitsData(16);
        var maps = new[] { Digits, TestModels.Get("digits_cnn_randomized_last").ModelPath }.Select(path =>
        {
            using var stage = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = path, Target = SaliencyTarget.Index(3) }), data);
            return Column(stage, data, "Saliency");
        }).ToArray();
        var correlations = Enumerable.Range(0, 16).Select(r => Spearman(maps[0].AsSpan(r * 64, 64), maps[1].AsSpan(r * 64, 64))).ToArray();
        Console.WriteLine($"Spearman per row: {string.Join(", ", correlations.Select(c => c.ToString("F2")))}");
        Assert.IsTrue(correlations.Average() < 0.5, $"mean Spearman rank correlation {correlations.Average():F3} ≥ 0.5");
        Assert.IsTrue(correlations.All(c => c < 0.8), "no row keeps its map");
    }

    [TestMethod]
    public void IntegratedGradientsNeverRunMoreRowsThanTheBatchSize()
    {
        var data = DigitsData(5);
        using var stage = Fit(Ml.Explain().IntegratedGradients(new IntegratedGradientsOptions { ModelPath = Digits, Steps = 200, BatchSize = 8 }), data);
        var runs = new List<int>();
        stage.OnnxModel.RunObserver = rows => { lock (runs) runs.Add(rows); };
        var deltas = Scalars(stage, data, "IntegratedGradientsDelta");
        Assert.HasCount(5, deltas);
        Assert.IsTrue(runs.Max() <= 8, $"a run had {runs.Max()} rows");
        // 5 rows × 200 steps = 1000 path points in 125 full gradient runs, plus f(x) and f(baseline) of the 5 rows together: 10 rows in 2 forward runs.
        Assert.AreEqual(5 * 200 + 5 + 5, runs.Sum());
        Assert.AreEqual(125 + 2, runs.Count);
    }

    [TestMethod]
    public void ProbabilityTargetsEqualTheSoftmaxChainRuleOnLogits()
    {
        var data = DigitsData(6);
        using var probabilities = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, Output = SaliencyOutput.Probabilities, Target = SaliencyTarget.Index(2) }), data);
        var expected = Column(probabilities, data, "Saliency");

        // d p_k / d x = Σ_j p_k (δ_kj − p_j) d z_j / d x: the same map from logits with the upstream gradient p_k (e_k − p).
        using var logits = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits }), data);
        var inputs = Ml.Data.CreateEnumerable<Row>(data, false).ToList();
        var upstream = new List<float>();
        foreach (var row in inputs)
        {
            float[] z = Forward(logits, row.input);
            var p = z.Select(v => Math.Exp(v - z.Max())).ToArray();
            double total = p.Sum();
            upstream.AddRange(p.Select((v, j) => (float)(p[2] / total * ((j == 2 ? 1 : 0) - v / total))));
        }
        var withUpstream = Data(Ml, inputs.SelectMany(r => r.input).ToArray(), [1, 8, 8], upstream: upstream.ToArray(), upstreamSize: 10);
        using var chained = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, Target = SaliencyTarget.UpstreamGradient("upstream") }), withUpstream);
        AssertClose(Column(chained, withUpstream, "Saliency"), expected, 1e-4, "probability gradient vs chain rule");
    }

    [TestMethod]
    public void TopPredictionTargetsThePredictedClass()
    {
        var data = DigitsData(8);
        using var top = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits }), data);
        var inputs = Ml.Data.CreateEnumerable<Row>(data, false).Select(r => r.input).ToArray();
        var predicted = inputs.Select(x => (long)Array.IndexOf(Forward(top, x), Forward(top, x).Max())).ToArray();
        Assert.IsTrue(predicted.Distinct().Count() > 3, "the rows are predicted as different classes");
        var byIndex = Data(Ml, inputs.SelectMany(x => x).ToArray(), [1, 8, 8], predicted);
        using var indexed = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, Target = SaliencyTarget.IndexColumn("target") }), byIndex);
        CollectionAssert.AreEqual(Column(indexed, byIndex, "Saliency"), Column(top, data, "Saliency"));
    }

    [TestMethod]
    public void SmoothGradIsReproducibleAndReducesToTheGradientWithoutNoise()
    {
        var data = DigitsData(4);
        float[] Run(SmoothGradOptions options, int seed)
        {
            options.ModelPath = Digits;
            options.Samples = 12;
            using var stage = Fit(new MLContext(seed).Explain().SmoothGrad(options), data);
            return Column(stage, data, options.OutputColumnName);
        }

        var first = Run(new SmoothGradOptions(), 7);
        CollectionAssert.AreEqual(first, Run(new SmoothGradOptions(), 7), "same MLContext seed, same maps");
        Assert.IsTrue(RelativeL2(Run(new SmoothGradOptions(), 8), first) > 1e-3, "another seed draws other noise");
        using var gradient = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits }), data);
        AssertClose(Run(new SmoothGradOptions { NoiseLevel = 0 }, 7), Column(gradient, data, "Saliency"), 1e-6, "SmoothGrad without noise");
        Assert.IsTrue(Run(new SmoothGradOptions { NoiseLevel = 0, Variant = SmoothGradVariant.VarGrad }, 7).All(v => Math.Abs(v) < 1e-6), "no noise, no variance");
        var squared = Run(new SmoothGradOptions { Variant = SmoothGradVariant.SmoothGradSquared }, 7);
        var variance = Run(new SmoothGradOptions { Variant = SmoothGradVariant.VarGrad }, 7);
        for (int i = 0; i < first.Length; i++)
            Assert.AreEqual(squared[i] - first[i] * first[i], variance[i], 1e-4 * Math.Max(1, squared[i]), "VarGrad = E[g²] − E[g]²");
    }

    [TestMethod]
    public void OcclusionOfSinglePixelsOnALinearModelIsGradientTimesInput()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [1, 5, 6]);
        var flat = g.Node("Flatten", [x]);
        g.Output(g.Node("Gemm", [flat, g.Weights([30, 3]), g.Weights([3])]));
        string path = Path.Combine(Path.GetTempPath(), $"saliency-linear-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, g.Bytes());
        try
        {
            var random = new Random(5);
            var inputs = Enumerable.Range(0, 3 * 30).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
            var data = Data(Ml, inputs, [1, 5, 6]);
            using var occlusion = Fit(Ml.Explain().Occlusion(new OcclusionOptions { ModelPath = path, WindowHeight = 1, WindowWidth = 1, StrideHeight = 1, StrideWidth = 1, BatchSize = 7 }), data);
            using var gxi = Fit(Ml.Explain().GradientTimesInput(new GradientTimesInputOptions { ModelPath = path }), data);
            AssertClose(Column(occlusion, data, "Occlusion"), Column(gxi, data, "GradientTimesInput"), 1e-5, "1x1 occlusion vs gradient x input");

            // A 2x3 window with stride 1: each pixel gets the mean drop of the windows covering it; the drop of a window is the sum of its w·x.
            using var windows = Fit(Ml.Explain().Occlusion(new OcclusionOptions { ModelPath = path, WindowHeight = 2, WindowWidth = 3, StrideHeight = 1, StrideWidth = 1, Target = SaliencyTarget.Index(1) }), data);
            using var gxi1 = Fit(Ml.Explain().GradientTimesInput(new GradientTimesInputOptions { ModelPath = path, Target = SaliencyTarget.Index(1) }), data);
            var contributions = Column(gxi1, data, "GradientTimesInput");
            var expected = new float[contributions.Length];
            for (int r = 0; r < 3; r++)
                for (int y = 0; y < 5; y++)
                    for (int xx = 0; xx < 6; xx++)
                    {
                        double sum = 0;
                        int count = 0;
                        for (int top = Math.Max(0, y - 1); top <= Math.Min(y, 3); top++)
                            for (int left = Math.Max(0, xx - 2); left <= Math.Min(xx, 3); left++, count++)
                                for (int dy = 0; dy < 2; dy++)
                                    for (int dx = 0; dx < 3; dx++)
                                        sum += contributions[r * 30 + (top + dy) * 6 + left + dx];
                        expected[r * 30 + y * 6 + xx] = (float)(sum / count);
                    }
            AssertClose(Column(windows, data, "Occlusion"), expected, 1e-5, "2x3 occlusion");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void IntegratedGradientsBaselinesAreHonoured()
    {
        var data = DigitsData(3);
        var inputs = Ml.Data.CreateEnumerable<Row>(data, false).Select(r => r.input).ToArray();
        // A constant baseline equals the same baseline given as a column; delta stays small for both.
        var withColumn = Data(Ml, inputs.SelectMany(x => x).ToArray(), [1, 8, 8], upstream: Enumerable.Repeat(0.25f, 3 * 64).ToArray(), upstreamSize: 64);
        float[] Run(Baseline baseline, IDataView view, out float[] deltas)
        {
            using var stage = Fit(Ml.Explain().IntegratedGradients(new IntegratedGradientsOptions { ModelPath = Digits, Baseline = baseline, Seed = 3 }), view);
            deltas = Scalars(stage, view, "IntegratedGradientsDelta");
            return Column(stage, view, "IntegratedGradients");
        }

        var constant = Run(Baseline.Constant(0.25f), withColumn, out var d1);
        var column = Run(Baseline.FromColumn("upstream"), withColumn, out var d2);
        CollectionAssert.AreEqual(constant, column);
        CollectionAssert.AreEqual(d1, d2);
        var blurred = Run(Baseline.Blurred(1.5f), data, out var d3);
        var noise = Run(Baseline.UniformNoise(0, 1), data, out var d4);
        CollectionAssert.AreEqual(noise, Run(Baseline.UniformNoise(0, 1), data, out _), "noise baselines are reproducible");
        Assert.IsTrue(RelativeL2(blurred, constant) > 0.05 && RelativeL2(noise, blurred) > 0.05, "baselines change the attributions");
        foreach (var delta in d1.Concat(d3).Concat(d4)) Assert.IsTrue(Math.Abs(delta) < 0.2, $"delta {delta}");

        // The blurred baseline of a constant image is the image itself.
        var flat = Enumerable.Repeat(0.7f, 2 * 6 * 5).ToArray();
        CollectionAssert.AreEqual(flat, Baseline.Blur(flat, [2, 6, 5], 2f).Select(v => MathF.Round(v, 5)).ToArray());
    }

    [TestMethod]
    public void PredictorHeadAttributionsFlowThroughTheOnnxFeatures()
    {
        // ONNX model output → ML.NET linear classifier: the head's class weights are the upstream gradient of the ONNX output.
        var lines = File.ReadLines(TestData.PathOf("digits.csv")).Skip(1).Take(200).Select(l => l.Split(',').Select(float.Parse).ToArray()).ToArray();
        var rows = lines.Select(v => new LabeledRow { input = v[..64].Select(p => p / 16).ToArray(), Label = (uint)v[64] }).ToList();
        var definition = SchemaDefinition.Create(typeof(LabeledRow));
        definition[nameof(LabeledRow.input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 1, 8, 8);
        var data = Ml.Data.LoadFromEnumerable(rows, definition);
        var pipeline = Ml.Transforms.ApplyOnnxModel(["logits"], ["input"], Digits)
            .Append(Ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(Ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "logits", maximumNumberOfIterations: 20));
        var model = pipeline.Fit(data);
        var sample = Ml.Data.TakeRows(data, 6);

        var stage = Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, ExplainPredictorHead = true, Target = SaliencyTarget.IndexColumn("PredictedLabel") });
        using var explained = stage.Fit(model, sample);
        Assert.AreEqual(10, explained.OutputSize);
        var heads = Column(explained, sample, "Saliency");
        var predicted = explained.Transform(sample).GetColumn<uint>("PredictedLabel").ToArray();

        var parameters = (MaximumEntropyModelParameters)((MulticlassPredictionTransformer<MaximumEntropyModelParameters>)((IEnumerable<ITransformer>)model).Last()).Model;
        VBuffer<float>[] weights = [];
        parameters.GetWeights(ref weights, out _);
        var slots = Ml.Data.CreateEnumerable<LabeledRow>(sample, false).ToList();
        var upstream = predicted.SelectMany(k => weights[k - 1].DenseValues()).ToArray();
        var viaUpstream = Data(Ml, slots.SelectMany(r => r.input).ToArray(), [1, 8, 8], upstream: upstream, upstreamSize: 10);
        using var reference = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, Target = SaliencyTarget.UpstreamGradient("upstream") }), viaUpstream);
        AssertClose(heads, Column(reference, viaUpstream, "Saliency"), 1e-5, "head weights as the upstream gradient");

        using var top = Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, ExplainPredictorHead = true }).Fit(model, sample);
        CollectionAssert.AreEqual(heads, Column(top, sample, "Saliency"), "the head's top class is ML.NET's PredictedLabel");
    }

    public sealed class LabeledRow
    {
        public float[] input = [];
        public uint Label;
    }

    [TestMethod]
    public void BadInputGetsClearErrors()
    {
        var data = DigitsData(2);
        var wrongSize = Data(Ml, new float[2 * 49], [1, 7, 7]);
        var e1 = Assert.ThrowsExactly<ArgumentException>(() => Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits }), wrongSize));
        StringAssert.Contains(e1.Message, "'input' holds 49 values");
        StringAssert.Contains(e1.Message, "[1,8,8]");

        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, Target = SaliencyTarget.Index(10) }), data));
        StringAssert.Contains(e2.Message, "Target index 10 is out of range");
        StringAssert.Contains(e2.Message, "10 values per row");

        var badTargets = Data(Ml, new float[2 * 64], [1, 8, 8], [3, 12]);
        using var fromColumn = Fit(Ml.Explain().GradientTimesInput(new GradientTimesInputOptions { ModelPath = Digits, Target = SaliencyTarget.IndexColumn("target") }), badTargets);
        var e3 = Assert.Throws<Exception>(() => Column(fromColumn, badTargets, "GradientTimesInput"));
        var inner = e3 is ArgumentOutOfRangeException ? e3 : e3.InnerException ?? e3;
        StringAssert.Contains(inner.Message, "Target index 12 from column 'target' is out of range");

        var e4 = Assert.ThrowsExactly<ArgumentException>(() => Fit(Ml.Explain().GradCam(new GradCamOptions { ModelPath = Digits, TensorName = "no_such_layer" }), data));
        StringAssert.Contains(e4.Message, "Grad-CAM tensor 'no_such_layer' does not exist");
        StringAssert.Contains(e4.Message, TestModels.Get("digits_cnn").GradCamTensor!);

        string text = Path.Combine(Path.GetTempPath(), $"not-an-image-{Environment.ProcessId}.jpg");
        File.WriteAllText(text, "this is text, not a JPEG");
        try
        {
            var e5 = Assert.ThrowsExactly<InvalidDataException>(() => ImageTensor.Load(text, ImageTensorOptions.ImageNet()));
            StringAssert.Contains(e5.Message, "is not an image");
            var e6 = Assert.ThrowsExactly<InvalidDataException>(() => Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = text }), data));
            StringAssert.Contains(e6.Message, "is not an ONNX model");
        }
        finally
        {
            File.Delete(text);
        }

        var e7 = Assert.ThrowsExactly<ArgumentException>(() => Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = Digits, InputColumnName = "pixels" }), data));
        StringAssert.Contains(e7.Message, "no column 'pixels'");
    }
}
