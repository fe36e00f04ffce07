using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>Gradients from the engine against PyTorch autograd references stored with the exported test models (tests/models).</summary>
[TestClass]
public sealed class PyTorchReferenceGradientTests
{
    private const double Tolerance = 1e-3;

    private static double RelativeL2(float[] actual, float[] expected)
    {
        Assert.AreEqual(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(actual[i] - (double)expected[i], 2);
            norm += (double)expected[i] * expected[i];
        }

        return Math.Sqrt(diff / Math.Max(norm, 1e-30));
    }

    private static (GradientSession Session, GradientResult Result) Run(TestModel model, ReluGradientMode mode, params string[] intermediates)
    {
        var options = new GradientGraphOptions { BatchSize = 3, OutputName = model.OutputName, ReluMode = mode };
        options.WithRespectTo.Add(model.InputName);
        foreach (var t in intermediates)
        {
            options.WithRespectTo.Add(t);
        }

        var session = OnnxGradientModel.Load(model.ModelPath).CreateSession(options);
        GradientCheck.AssertStandardOperators(session.Graph);
        var input = model.Reference("input").Data;
        var result = session.Run(input, session.OneHotCotangent(model.Targets().Data));
        return (session, result);
    }

    [TestMethod]
    [DataRow("cnn_bn_maxpool")]
    [DataRow("cnn_opset9")]
    [DataRow("cnn_opset8")]
    [DataRow("attention_ln_gelu")]
    [DataRow("digits_cnn")]
    [DataRow("mlp_small")]
    public void InputGradientMatchesPyTorchAutograd(string name)
    {
        var model = TestModels.Get(name);
        var (session, result) = Run(model, ReluGradientMode.Standard);
        using (session)
        {
            double logitError = RelativeL2(result.Values[model.OutputName], model.Reference("logits").Data);
            Assert.IsTrue(logitError < 1e-4, $"{name}: forward logits differ from PyTorch by {logitError:G3}");
            double error = RelativeL2(result.Gradients[model.InputName], model.Reference("gradient").Data);
            Console.WriteLine($"{name}: relative L2 error of the input gradient {error:G3}");
            Assert.IsTrue(error <= Tolerance, $"{name}: relative L2 error {error:G3} of the input gradient against PyTorch > {Tolerance}");
        }
    }

    [TestMethod]
    [DataRow("cnn_bn_maxpool")]
    [DataRow("digits_cnn")]
    [DataRow("mlp_small")]
    public void GuidedBackpropMatchesPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var (session, result) = Run(model, ReluGradientMode.Guided);
        using (session)
        {
            double error = RelativeL2(result.Gradients[model.InputName], model.Reference("guided_backprop").Data);
            Assert.IsTrue(error <= Tolerance, $"{name}: guided backprop relative L2 error {error:G3}");
        }
    }

    [TestMethod]
    [DataRow("cnn_bn_maxpool")]
    [DataRow("digits_cnn")]
    public void GradCamTensorValueAndGradientMatchPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var tensor = model.GradCamTensor!;
        var (session, result) = Run(model, ReluGradientMode.Standard, tensor);
        using (session)
        {
            Assert.IsTrue(RelativeL2(result.Values[tensor], model.Reference("gradcam_activation").Data) <= 1e-4, "activation");
            double error = RelativeL2(result.Gradients[tensor], model.Reference("gradcam_gradient").Data);
            Assert.IsTrue(error <= Tolerance, $"{name}: gradient at {tensor} relative L2 error {error:G3}");
            Assert.IsTrue(RelativeL2(result.Gradients[model.InputName], model.Reference("gradient").Data) <= Tolerance, "input gradient with an intermediate requested too");
        }
    }

    [TestMethod]
    [DataRow("attention_ln_gelu", "attention_weights")]
    [DataRow("mlp_small", "hidden2")]
    public void IntermediateTensorMatchesPyTorch(string name, string key)
    {
        var model = TestModels.Get(name);
        var tensor = model.IntermediateTensors[key];
        var (session, result) = Run(model, ReluGradientMode.Standard, tensor);
        using (session)
        {
            Assert.IsTrue(RelativeL2(result.Values[tensor], model.Reference($"{key}_activation").Data) <= 1e-4, "activation");
            double error = RelativeL2(result.Gradients[tensor], model.Reference($"{key}_gradient").Data);
            Assert.IsTrue(error <= Tolerance, $"{name}: gradient at {tensor} relative L2 error {error:G3}");
        }
    }
}
