using MLNet.Explain.Cli;
using MLNet.Explain.Onnx;
using SkiaSharp;

namespace MLNet.Explain.Tests.Onnx;

/// <summary><c>mlnet-explain saliency</c> in-process: attributions equal the PyTorch references, PNG output, clear errors.</summary>
[TestClass]
public sealed class SaliencyCliTests
{
    [TestMethod]
    public void GradientTimesInputOfTheTopClassMatchesPyTorchAndDrawsAPng()
    {
        // The digits references explain the predicted class, which is the command's default target.
        var model = TestModels.Get("digits_cnn");
        string folder = Directory.CreateTempSubdirectory("saliency-cli").FullName;
        try
        {
            string output = Path.Combine(folder, "attr.npy"), png = Path.Combine(folder, "map.png");
            int code = CliApp.Run(["saliency", "--model", model.ModelPath, "--input", TestModels.PathOf("ref/digits_cnn/input.npy"), "--method", "gradxinput", "--out", output, "--png", png]);
            Assert.AreEqual(0, code);
            var attributions = NpyFile.Read<float>(output);
            CollectionAssert.AreEqual(new[] { 4, 1, 8, 8 }, attributions.Shape);
            SaliencyTestData.AssertClose(attributions.Data, model.Reference("gradient_x_input").Data, 1e-3, "CLI gradient x input");
            using var bitmap = SKBitmap.Decode(png);
            Assert.IsNotNull(bitmap, "the PNG decodes");
            Assert.AreEqual(8 * 20, bitmap.Height, "the 8x8 map is magnified to 160 pixels");

            code = CliApp.Run(["saliency", "--model", model.ModelPath, "--input", TestModels.PathOf("ref/digits_cnn/input.npy"), "--method", "gradcam", "--tensor", model.GradCamTensor!, "--upsampling", "Nearest", "--out", output]);
            Assert.AreEqual(0, code);
            CollectionAssert.AreEqual(new[] { 4, 8, 8 }, NpyFile.Read<float>(output).Shape);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void BadInputFailsWithAMessage()
    {
        var model = TestModels.Get("digits_cnn");
        string folder = Directory.CreateTempSubdirectory("saliency-cli").FullName;
        try
        {
            string text = Path.Combine(folder, "photo.jpg");
            File.WriteAllText(text, "not an image");
            string resnet = Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
            var (code, _, error) = ConsoleCapture.Run(() => CliApp.Run(["saliency", "--model", resnet, "--image", text, "--method", "saliency", "--out", Path.Combine(folder, "a.npy")]));
            Assert.AreEqual(1, code);
            StringAssert.Contains(error, "is not an image");
            (code, _, error) = ConsoleCapture.Run(() => CliApp.Run(["saliency", "--model", model.ModelPath, "--input", TestModels.PathOf("ref/digits_cnn/input.npy"), "--method", "saliency", "--target-index", "10", "--out", Path.Combine(folder, "a.npy")]));
            Assert.AreEqual(1, code);
            StringAssert.Contains(error, "Target index 10 is out of range");
            (code, _, error) = ConsoleCapture.Run(() => CliApp.Run(["saliency", "--model", model.ModelPath, "--input", TestModels.PathOf("ref/cnn_bn_maxpool/input.npy"), "--method", "saliency", "--out", Path.Combine(folder, "a.npy")]));
            Assert.AreEqual(1, code);
            StringAssert.Contains(error, "expects (rows, 1, 8, 8)");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
