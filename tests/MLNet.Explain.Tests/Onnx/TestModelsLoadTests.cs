using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>
/// The committed test models run in ONNX Runtime (CPU) and reproduce PyTorch's forward outputs, and the manifest's
/// names (Grad-CAM and intermediate tensors, ops) match the graphs: the contract the gradient-engine tests rely on.
/// </summary>
[TestClass]
public sealed class TestModelsLoadTests
{
    public static IEnumerable<object[]> Models => TestModels.Names.Select(n => new object[] { n });

    [TestMethod]
    public void ManifestListsEveryCommittedModel()
    {
        var files = Directory.GetFiles(TestModels.PathOf("."), "*.onnx").Select(Path.GetFileNameWithoutExtension).Order();
        CollectionAssert.AreEqual(files.ToArray(), TestModels.Names.Order().ToArray());
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void OnnxRuntimeForwardMatchesPyTorch(string name)
    {
        var model = TestModels.Get(name);
        var input = model.Reference("input");
        var expected = model.Reference("logits");

        using var session = new InferenceSession(model.ModelPath);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(model.InputName, input.ToDenseTensor())]);
        var output = results.Single(r => r.Name == model.OutputName).AsTensor<float>();

        CollectionAssert.AreEqual(expected.Shape, output.Dimensions.ToArray(), $"{name}: output shape");
        var actual = output.ToArray();
        for (int i = 0; i < actual.Length; i++)
        {
            float tolerance = 1e-4f * Math.Max(1f, Math.Abs(expected.Data[i]));
            Assert.IsLessThanOrEqualTo(tolerance, Math.Abs(actual[i] - expected.Data[i]),
                $"{name}: logit {i} is {actual[i]}, PyTorch gives {expected.Data[i]}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Models))]
    public void ManifestNamesMatchTheGraph(string name)
    {
        var model = TestModels.Get(name);
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(model.ModelPath));
        var graph = proto.Graph;
        var tensors = graph.Node.SelectMany(n => n.Output).ToHashSet();

        Assert.AreEqual(model.Opset, (int)proto.OpsetImport.Single(o => o.Domain.Length == 0).Version, $"{name}: opset");
        Assert.AreEqual(model.InputName, graph.Input[0].Name);
        Assert.AreEqual(model.OutputName, graph.Output[0].Name);
        CollectionAssert.AreEquivalent(model.Ops.ToArray(), graph.Node.Select(n => n.OpType).Distinct().ToArray(), $"{name}: ops");

        var named = model.IntermediateTensors.Values.ToList();
        if (model.GradCamTensor is { } camTensor)
        {
            named.Add(camTensor);
            var activation = model.Reference("gradcam_activation");
            var cam = model.Reference("gradcam");
            CollectionAssert.AreEqual(model.Reference("gradcam_gradient").Shape, activation.Shape);
            CollectionAssert.AreEqual(new[] { activation.Shape[0], activation.Shape[2], activation.Shape[3] }, cam.Shape);
        }
        foreach (var tensor in named)
            Assert.Contains(tensor, tensors, $"{name}: tensor {tensor} named in the manifest is not produced by any node");

        var inputShape = model.Reference("input").Shape;
        foreach (var key in new[] { "gradient", "gradient_x_input", "ig_gauss_legendre_50", "ig_riemann_middle_50" })
            CollectionAssert.AreEqual(inputShape, model.Reference(key).Shape, $"{name}: {key} shape");
        Assert.HasCount(inputShape[0], model.Targets().Data);
    }
}
