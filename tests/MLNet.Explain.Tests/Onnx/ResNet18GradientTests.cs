using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>
/// ResNet18.onnx from the Microsoft.ML.DnnImageFeaturizer.ResNet18 NuGet package: an opset-8 CNTK export with a fixed batch of 1, upgraded and
/// rewritten to 8 rows per run. Gradients of one feature channel with respect to the pixels agree with finite differences on sampled pixels.
/// </summary>
[TestClass]
public sealed class ResNet18GradientTests
{
    private static string ModelPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    [TestMethod]
    public void FeatureChannelGradientAgreesWithFiniteDifferencesAtBatchEight()
    {
        var model = OnnxGradientModel.Load(ModelPath);
        Assert.AreEqual(8, model.Opset);
        var options = new GradientGraphOptions { BatchSize = 8 };
        using var session = model.CreateSession(options);
        GradientCheck.AssertStandardOperators(session.Graph);
        string input = model.InputNames[0];
        Assert.AreEqual(8, session.Graph.Shapes[input][0], "the fixed batch of 1 is rewritten to 8");
        Console.WriteLine($"input {input} [{string.Join(",", session.Graph.Shapes[input])}], output {session.Graph.OutputName} [{string.Join(",", session.Graph.Shapes[session.Graph.OutputName])}]");

        const int rows = 8;
        long rowSize = session.RowSize(input);
        long channels = session.RowSize(session.Graph.CotangentInputName);
        var random = new Random(11);
        var pixels = GradientCheck.Draw(random, (int)(rows * rowSize), InputKind.Normal);

        // Target: each row's strongest feature channel (a live channel, so its gradient is not identically zero).
        var features = session.Run(pixels, new float[rows * channels]).Values[session.Graph.OutputName];
        var targets = Enumerable.Range(0, rows).Select(r => (long)Enumerable.Range(0, (int)channels).MaxBy(k => features[(r * channels) + k])).ToArray();
        var cotangent = session.OneHotCotangent(targets);
        var gradient = session.Run(pixels, cotangent).Gradients[input];
        Assert.IsTrue(gradient.All(float.IsFinite));

        // Per round and row: 256 sampled pixels moved together along the sign of their gradient (rows are independent, so two runs give eight
        // finite differences). Moving a single pixel would change a feature by less than float32 rounding of the deep sums.
        const double step = 0.01;
        for (int round = 0; round < 2; round++)
        {
            var direction = new float[rows * rowSize];
            var expected = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                for (int k = 0; k < 256; k++)
                {
                    long p = (r * rowSize) + random.NextInt64(rowSize);
                    direction[p] = Math.Sign(gradient[p]);
                }

                for (long p = r * rowSize; p < (r + 1) * rowSize; p++)
                {
                    expected[r] += gradient[p] * (double)direction[p];
                }
            }

            double[] Shifted(double h)
            {
                var x = pixels.Select((v, i) => (float)(v + (h * direction[i]))).ToArray();
                var values = session.Run(x, cotangent).Values[session.Graph.OutputName];
                return Enumerable.Range(0, rows).Select(r => (double)values[(r * channels) + targets[r]]).ToArray();
            }

            var plus = Shifted(step);
            var minus = Shifted(-step);
            for (int r = 0; r < rows; r++)
            {
                double numeric = (plus[r] - minus[r]) / (2 * step);
                double error = Math.Abs(numeric - expected[r]) / Math.Abs(expected[r]);
                Console.WriteLine($"round {round} row {r}: finite difference {numeric:G6}, gradient {expected[r]:G6}, relative error {error:G3}");
                Assert.IsTrue(expected[r] > 0, "moving along the gradient's sign increases the target");
                Assert.IsTrue(error <= 1e-2, $"row {r}: finite difference {numeric:G6} vs gradient {expected[r]:G6} over 256 sampled pixels (relative error {error:G3})");
            }
        }
    }
}
