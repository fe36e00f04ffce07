using MLNet.Explain.Cli;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary><c>mlnet-explain gradients</c> end to end on the exported digits CNN and its PyTorch references.</summary>
[TestClass]
public sealed class GradientsCliTests
{
    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"gradients-cli-{Guid.NewGuid():N}-{name}");

    [TestMethod]
    public void PerRowTargetsReproducePyTorchGradients()
    {
        var model = TestModels.Get("digits_cnn");
        string output = Temp("grad.npy");
        try
        {
            int code = CliApp.Run(["gradients", "--model", model.ModelPath, "--input", model.ReferencePath("input"), "--target", model.ReferencePath("targets"), "--batch", "3", "--out", output]);
            Assert.AreEqual(0, code);
            var gradient = NpyFile.Read<float>(output);
            var expected = model.Reference("gradient");
            CollectionAssert.AreEqual(expected.Shape, gradient.Shape);
            double diff = Math.Sqrt(gradient.Data.Zip(expected.Data, (a, b) => Math.Pow(a - b, 2)).Sum());
            double norm = Math.Sqrt(expected.Data.Sum(v => (double)v * v));
            Assert.IsTrue(diff / norm <= 1e-3, $"relative L2 error {diff / norm:G3}");
        }
        finally
        {
            File.Delete(output);
        }
    }

    [TestMethod]
    public void TargetIndexAndIntermediateTensor()
    {
        var model = TestModels.Get("cnn_bn_maxpool");
        string output = Temp("cam.npy");
        string graph = Temp("graph.onnx");
        try
        {
            int code = CliApp.Run(["gradients", "--model", model.ModelPath, "--input", model.ReferencePath("input"), "--target-index", "2", "--wrt", model.GradCamTensor!,
                "--device", "cpu", "--save-graph", graph, "--out", output]);
            Assert.AreEqual(0, code);
            var gradient = NpyFile.Read<float>(output);
            CollectionAssert.AreEqual(new[] { 4, 24, 4, 4 }, gradient.Shape);
            Assert.IsTrue(File.Exists(graph));

            var options = new GradientGraphOptions { BatchSize = 4 };
            options.WithRespectTo.Add(model.GradCamTensor!);
            using var session = OnnxGradientModel.Load(model.ModelPath).CreateSession(options);
            var expected = session.Run(model.Reference("input").Data, session.OneHotCotangent([2, 2, 2, 2])).Gradients[model.GradCamTensor!];
            CollectionAssert.AreEqual(expected, gradient.Data);
        }
        finally
        {
            File.Delete(output);
            File.Delete(graph);
        }
    }

    [TestMethod]
    public void BadArgumentsFailWithoutWritingOutput()
    {
        var model = TestModels.Get("digits_cnn");
        string output = Temp("bad.npy");
        string[] common = ["gradients", "--model", model.ModelPath, "--out", output];
        Assert.AreNotEqual(0, CliApp.Run([.. common, "--input", model.ReferencePath("input")]), "no target given");
        Assert.AreNotEqual(0, CliApp.Run([.. common, "--input", model.ReferencePath("input"), "--target-index", "1", "--target", model.ReferencePath("targets")]), "both targets");
        Assert.AreEqual(1, CliApp.Run([.. common, "--input", model.ReferencePath("input"), "--target-index", "10"]), "target outside the 10 logits");
        Assert.AreEqual(1, CliApp.Run([.. common, "--input", TestModels.Get("mlp_small").ReferencePath("input"), "--target-index", "1"]), "input of another model");
        Assert.AreEqual(1, CliApp.Run([.. common, "--input", model.ReferencePath("input"), "--target-index", "1", "--wrt", "nope"]), "unknown tensor");
        Assert.IsFalse(File.Exists(output));
    }
}
