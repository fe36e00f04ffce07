using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;
using static MLNet.Explain.Tests.Onnx.SaliencyTestData;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>
/// Completeness of Integrated Gradients with the default 50 Gauss–Legendre steps and zero baseline: every row's
/// |Σ attributions − (f(x) − f(0))| ≤ 1% of |f(x) − f(0)| on the digits CNN and ≤ 5% on ResNet18, where f is the explained
/// (predicted) output of the row. The delta column is checked against its definition too, so a wrong delta cannot hide a wrong sum.
/// </summary>
[TestClass]
public sealed class IntegratedGradientsCompletenessTests
{
    private static readonly MLContext Ml = new(seed: 1);

    [TestMethod]
    public void DigitsCnnIsCompleteWithin1PercentOfEveryRow()
    {
        var model = TestModels.Get("digits_cnn");
        var referenceRows = Completeness(model.ModelPath, ReferenceData(Ml, model), "target", batchSize: 8);
        // PyTorch float64 values of f(x) − f(0) for the reference rows: the stage explains the same outputs.
        var atInput = model.Reference("target_logit").Data;
        var atBaseline = model.Reference("target_logit_at_baseline").Data;
        for (int r = 0; r < referenceRows.Length; r++)
            Assert.AreEqual(atInput[r] - atBaseline[r], referenceRows[r].Difference, 1e-4 * Math.Abs(atInput[r] - atBaseline[r]), $"reference row {r}: f(x) − f(0)");

        // The first 40 rows of digits.csv (every class), each explained at its predicted class. Over all 1,797 rows, 2 exceed 1% (rows 46 and 421:
        // 1.07% and 1.49%, the same in float64 PyTorch, so it is the 50-node rule meeting many ReLU/MaxPool switches, not float32): see docs/saliency.md.
        var rows = Completeness(model.ModelPath, DigitsRows(Ml, 40), targetColumn: null, batchSize: 16);
        var all = referenceRows.Concat(rows).ToArray();
        var worst = all.MaxBy(r => r.Relative);
        Console.WriteLine($"digits CNN, {all.Length} rows: worst |delta| = {worst.Relative:P3} of |f(x) − f(0)| ({worst.Delta:G3} of {worst.Difference:G5}); median {all.Select(r => r.Relative).Order().ElementAt(all.Length / 2):P3}");
        Assert.IsTrue(all.All(r => r.Relative <= 0.01), $"rows over 1%: {string.Join("; ", all.Where(r => r.Relative > 0.01).Select(r => $"delta {r.Delta:G3} of {r.Difference:G5}"))}");
    }

    [TestMethod]
    public void ResNet18IsCompleteWithin5PercentOfEveryRow()
    {
        // ResNet18.onnx (DnnImageFeaturizer package) computes 512 pooled features; each photo explains the feature channel that rises most
        // from the zero (mean-image) baseline, so f(x) − f(0) is large and the relative delta meaningful.
        string resnet = Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        var photos = new[] { "china", "flower" }.Select(p => ImageTensor.Load(TestData.PathOf(Path.Combine("images", p + ".jpg")), ImageTensorOptions.ImageNet(224))).ToArray();
        long[] channels;
        using (var probe = Fit(Ml.Explain().Saliency(new VanillaGradientOptions { ModelPath = resnet, BatchSize = 2 }), Data(Ml, photos.SelectMany(p => p).ToArray(), [3, 224, 224])))
        {
            var atZero = Forward(probe, new float[3 * 224 * 224]);
            channels = Forward(probe, photos).Select(features => (long)Enumerable.Range(0, features.Length).MaxBy(k => features[k] - atZero[k])).ToArray();
        }

        var rows = Completeness(resnet, Data(Ml, photos.SelectMany(p => p).ToArray(), [3, 224, 224], channels), "target", batchSize: 10);
        foreach (var row in rows) Console.WriteLine($"ResNet18: delta {row.Delta:G4} of f(x) − f(0) = {row.Difference:G5} ({row.Relative:P3})");
        Assert.IsTrue(rows.All(r => r.Relative <= 0.05), $"relative deltas {string.Join(", ", rows.Select(r => r.Relative.ToString("P2")))}");
    }

    private readonly record struct RowCompleteness(double Difference, double Delta)
    {
        public double Relative => Math.Abs(Delta) / Math.Abs(Difference);
    }

    /// <summary>
    /// Per row: f(x) − f(0) from forward passes of the stage's own session and the delta column (checked against Σ attributions − (f(x) − f(0))).
    /// The target is the class index in <paramref name="targetColumn"/>, or the top prediction when it is null.
    /// </summary>
    private static RowCompleteness[] Completeness(string modelPath, IDataView data, string? targetColumn, int batchSize)
    {
        var options = new IntegratedGradientsOptions { ModelPath = modelPath, BatchSize = batchSize };
        Assert.AreEqual(50, options.Steps, "the default is 50 steps");
        Assert.AreEqual(IntegrationRule.GaussLegendre, options.Rule, "the default rule is Gauss–Legendre");
        options.Target = targetColumn is null ? SaliencyTarget.TopPrediction : SaliencyTarget.IndexColumn(targetColumn);
        using var stage = Fit(Ml.Explain().IntegratedGradients(options), data);
        var explained = Ml.Data.CreateEnumerable<Explained>(stage.Transform(data), reuseRowObject: false).ToArray();

        var inputs = data.GetColumn<float[]>("input").ToArray();
        var targets = targetColumn is null ? null : data.GetColumn<long>(targetColumn).ToArray();
        var atInputs = Forward(stage, inputs);
        var atZero = Forward(stage, new float[inputs[0].Length]);
        return explained.Select((row, r) =>
        {
            var atInput = atInputs[r];
            int k = targets is null ? Array.IndexOf(atInput, atInput.Max()) : (int)targets[r];
            double difference = (double)atInput[k] - atZero[k];
            double sum = row.IntegratedGradients.Sum(v => (double)v);
            Assert.AreEqual(sum - difference, row.IntegratedGradientsDelta, 1e-5 * Math.Max(1, Math.Abs(difference)), $"row {r}: delta = Σ attributions − (f(x) − f(0))");
            return new RowCompleteness(difference, row.IntegratedGradientsDelta);
        }).ToArray();
    }

    private sealed class Explained
    {
        public float[] IntegratedGradients { get; set; } = [];
        public float IntegratedGradientsDelta { get; set; }
    }
}
