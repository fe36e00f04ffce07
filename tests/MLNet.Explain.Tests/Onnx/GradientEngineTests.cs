using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>Behaviour of the gradient engine around the rules: path checks, intermediate tensors, ReLU modes, batching, devices.</summary>
[TestClass]
public sealed class GradientEngineTests
{
    /// <summary>x → Conv → Relu (t) → GlobalAveragePool → Flatten → Gemm: a small CNN whose pieces have known-answer gradients.</summary>
    private static (TestGraph Graph, string Features, string Output, float[] HeadWeights) SmallCnn(bool fixedBatchOne = false, int opset = 13)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [2, 6, 6], fixedBatchOne);
        var conv = g.Node("Conv", [x, g.Weights([3, 2, 3, 3]), g.Weights([3])], ("pads", new long[] { 1, 1, 1, 1 }));
        var features = g.Node("Relu", [conv]);
        var pooled = g.Node("GlobalAveragePool", [features]);
        var flat = fixedBatchOne ? g.Node("Reshape", [pooled, g.Ints(1, -1)]) : g.Node("Flatten", [pooled]);
        var head = Enumerable.Range(0, 12).Select(i => (float)((i % 5) - 2) / 4).ToArray();
        var logits = g.Node("Gemm", [flat, g.Floats(head, [3, 4])]);
        g.Output(logits);
        return (g, features, logits, head);
    }

    [TestMethod]
    public void UnsupportedOperatorOnThePathIsNamedBeforeAnyRun()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [4]);
        var y = g.Node("Cos", [x]);
        var z = g.Node("Mul", [y, y]);
        g.Output(z);
        var e = Assert.ThrowsExactly<UnsupportedOperatorException>(() => g.Build().BuildGraph(new GradientGraphOptions()));
        Assert.AreEqual("Cos", e.OpType);
        Assert.AreEqual(13, e.Opset);
        StringAssert.Contains(e.Message, "Cos node 'Cos_0'");
        StringAssert.Contains(e.Message, "opset 13");
    }

    [TestMethod]
    public void UnsupportedOperatorOffThePathIsFine()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [4]);
        var side = g.Node("Cos", [x]);
        var y = g.Node("Tanh", [x]);
        g.Output(y);
        g.Output(side);
        GradientCheck.Verify(g, y, ["x"]);

        // Seeding the other output puts Cos on the path.
        Assert.ThrowsExactly<UnsupportedOperatorException>(() => g.Build().BuildGraph(new GradientGraphOptions { OutputName = side }));
    }

    [TestMethod]
    public void UnknownTensorNamesAreReported()
    {
        var (g, _, _, _) = SmallCnn();
        var options = new GradientGraphOptions();
        options.WithRespectTo.Add("no_such_tensor");
        var e = Assert.ThrowsExactly<ArgumentException>(() => g.Build().BuildGraph(options));
        StringAssert.Contains(e.Message, "no_such_tensor");
    }

    [TestMethod]
    public void IntermediateTensorGradientAndValueHaveTheKnownAnswer()
    {
        var (g, features, logits, head) = SmallCnn();
        var options = new GradientGraphOptions { BatchSize = 2, OutputName = logits };
        options.WithRespectTo.Add("x");
        options.WithRespectTo.Add(features);
        using var session = g.Build().CreateSession(options);
        var random = new Random(3);
        var x = GradientCheck.Draw(random, 3 * 72, InputKind.Normal);
        var targets = new long[] { 0, 3, 2 };
        var result = session.Run(x, session.OneHotCotangent(targets));

        // d logit_k / d features[c, h, w] = head[c, k] / 36 for every position: GlobalAveragePool then a linear head.
        var gradient = result.Gradients[features];
        var value = result.Values[features];
        Assert.AreEqual(3 * 3 * 36, gradient.Length);
        for (int row = 0; row < 3; row++)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int p = 0; p < 36; p++)
                {
                    Assert.AreEqual(head[(c * 4) + targets[row]] / 36f, gradient[(row * 108) + (c * 36) + p], 1e-7f);
                    Assert.IsTrue(value[(row * 108) + (c * 36) + p] >= 0, "the exposed features are Relu outputs");
                }
            }
        }

        Assert.IsTrue(value.Any(v => v > 0));
        Assert.AreEqual(3 * 4, result.Values[logits].Length);
        GradientCheck.Verify(g, logits, ["x"], step: 1e-3);
    }

    [TestMethod]
    public void ReluModesFollowGuidedBackpropAndDeconvnet()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [4]);
        var y = g.Node("Relu", [x]);
        g.Output(y);
        var input = new[] { 1f, 2f, -1f, -2f };
        var cotangent = new[] { 0.5f, -0.5f, 0.5f, -0.5f };
        var expected = new Dictionary<ReluGradientMode, float[]>
        {
            [ReluGradientMode.Standard] = [0.5f, -0.5f, 0f, 0f],
            [ReluGradientMode.Guided] = [0.5f, 0f, 0f, 0f],
            [ReluGradientMode.Deconvnet] = [0.5f, 0f, 0.5f, 0f],
        };
        foreach (var (mode, want) in expected)
        {
            using var session = g.Build().CreateSession(new GradientGraphOptions { BatchSize = 1, ReluMode = mode });
            CollectionAssert.AreEqual(want, session.Run(input, cotangent).Gradients["x"], $"mode {mode}");
        }
    }

    [TestMethod]
    public void FixedBatchOfOneIsRewrittenAndRowsOutsideFullBatchesArePadded()
    {
        var (fixedGraph, _, _, _) = SmallCnn(fixedBatchOne: true, opset: 8);
        var random = new Random(5);
        var x = GradientCheck.Draw(random, 5 * 72, InputKind.Normal);
        var cotangent = GradientCheck.Draw(random, 5 * 4, InputKind.Normal);

        using var batched = fixedGraph.Build().CreateSession(new GradientGraphOptions { BatchSize = 4 });
        Assert.AreEqual(4, batched.Graph.Shapes["x"][0]);
        var all = batched.Run(x, cotangent);
        using var single = fixedGraph.Build().CreateSession(new GradientGraphOptions { BatchSize = 1 });
        for (int row = 0; row < 5; row++)
        {
            var one = single.Run(x[(row * 72)..((row + 1) * 72)], cotangent[(row * 4)..((row + 1) * 4)]);
            for (int i = 0; i < 72; i++)
            {
                Assert.AreEqual(one.Gradients["x"][i], all.Gradients["x"][(row * 72) + i], 1e-5f, $"row {row} element {i}");
            }

            for (int k = 0; k < 4; k++)
            {
                Assert.AreEqual(one.Values[single.Graph.OutputName][k], all.Values[batched.Graph.OutputName][(row * 4) + k], 1e-5f);
            }
        }

        GradientCheck.Verify(fixedGraph, batched.Graph.OutputName, ["x"], rows: 5, batch: 4, step: 1e-3);
    }

    [TestMethod]
    public void ConcurrentRunsAgreeWithSequentialRuns()
    {
        var (g, _, _, _) = SmallCnn();
        using var session = g.Build().CreateSession(new GradientGraphOptions { BatchSize = 2 });
        var random = new Random(9);
        var inputs = Enumerable.Range(0, 6).Select(_ => GradientCheck.Draw(random, 3 * 72, InputKind.Normal)).ToArray();
        var cotangent = session.OneHotCotangent([1, 2, 3]);
        var sequential = inputs.Select(x => session.Run(x, cotangent).Gradients["x"]).ToArray();
        var parallel = new float[6][];
        Parallel.For(0, 6, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i => parallel[i] = session.Run(inputs[i], cotangent).Gradients["x"]);
        for (int i = 0; i < 6; i++)
        {
            CollectionAssert.AreEqual(sequential[i], parallel[i]);
        }
    }

    [TestMethod]
    public void GeneratedModelIsWrittenAndUsesOnlyStandardOperators()
    {
        var (g, _, _, _) = SmallCnn(fixedBatchOne: true, opset: 8);
        string path = Path.Combine(Path.GetTempPath(), $"gradient-{Guid.NewGuid():N}.onnx");
        try
        {
            using var session = g.Build().CreateSession(new GradientGraphOptions { BatchSize = 3 }, new GradientSessionOptions { SaveGradientModelPath = path });
            GradientCheck.AssertStandardOperators(session.Graph);
            Assert.IsTrue(session.Graph.OperatorTypes.Contains("ConvTranspose"));
            var saved = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            Assert.IsTrue(saved.Graph.Node.All(n => n.Domain is "" or "ai.onnx"));
            Assert.AreEqual(18, saved.OpsetImport.Single(o => o.Domain is "" or "ai.onnx").Version);
            using var reloaded = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            Assert.IsTrue(reloaded.InputMetadata.ContainsKey(session.Graph.CotangentInputName));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void CudaRequestFailsClearlyOrFallsBackWhenAllowed()
    {
        var (g, _, _, _) = SmallCnn();
        var model = g.Build();
        GradientSession? probe = null;
        try
        {
            probe = model.CreateSession(new GradientGraphOptions(), new GradientSessionOptions { Device = "cuda:0" });
        }
        catch (GradientDeviceException e)
        {
            StringAssert.Contains(e.Message, "CUDA device 0");
            StringAssert.Contains(e.Message, nameof(GradientSessionOptions.AllowCpuFallback));
        }

        if (probe is not null)
        {
            Console.WriteLine("A CUDA device is present: the session runs on " + probe.Device + "; the fallback path is not exercised.");
            probe.Dispose();
            return;
        }

        using var fallback = model.CreateSession(new GradientGraphOptions(), new GradientSessionOptions { Device = "cuda:0", AllowCpuFallback = true });
        Assert.AreEqual("cpu", fallback.Device);
        Assert.IsNotNull(fallback.FallbackReason);
        var result = fallback.Run(new float[72], fallback.OneHotCotangent([1]));
        Assert.AreEqual(72, result.Gradients["x"].Length);
        Assert.ThrowsExactly<ArgumentException>(() => model.CreateSession(new GradientGraphOptions(), new GradientSessionOptions { Device = "tpu" }));
    }

    [TestMethod]
    public void BadRunInputsAreReported()
    {
        var (g, _, _, _) = SmallCnn();
        using var session = g.Build().CreateSession(new GradientGraphOptions { BatchSize = 2 });
        var e = Assert.ThrowsExactly<ArgumentException>(() => session.Run(new float[71], new float[4]));
        StringAssert.Contains(e.Message, "'x'");
        e = Assert.ThrowsExactly<ArgumentException>(() => session.Run(new float[144], new float[4]));
        StringAssert.Contains(e.Message, "cotangent");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => session.OneHotCotangent([4]));
    }
}
