namespace MLNet.Explain.Tests.Onnx;

/// <summary>Finite-difference checks, one small generated graph per gradient rule (relative error ≤ 1e-3 in float32).</summary>
[TestClass]
public sealed class GradientRuleTests
{
    private static void Unary(string op, InputKind kind, int opset = 18, params (string, object)[] attributes)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [3, 4]);
        var y = g.Node(op, [x], attributes);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"], kind: kind);
    }

    [TestMethod]
    [DataRow("Relu", InputKind.Spaced)]
    [DataRow("Sigmoid", InputKind.Normal)]
    [DataRow("Tanh", InputKind.Normal)]
    [DataRow("Exp", InputKind.Normal)]
    [DataRow("Log", InputKind.Positive)]
    [DataRow("Sqrt", InputKind.Positive)]
    [DataRow("Erf", InputKind.Normal)]
    [DataRow("Abs", InputKind.Spaced)]
    [DataRow("Neg", InputKind.Normal)]
    [DataRow("Reciprocal", InputKind.Positive)]
    [DataRow("Identity", InputKind.Normal)]
    [DataRow("Softmax", InputKind.Normal)]
    [DataRow("LogSoftmax", InputKind.Normal)]
    public void ElementwiseUnary(string op, InputKind kind) => Unary(op, kind);

    [TestMethod]
    public void LeakyRelu() => Unary("LeakyRelu", InputKind.Spaced, 18, ("alpha", 0.2f));

    [TestMethod]
    [DataRow("none")]
    [DataRow("tanh")]
    public void Gelu(string approximate) => Unary("Gelu", InputKind.Normal, 20, ("approximate", approximate));

    [TestMethod]
    [DataRow(8)]
    [DataRow(18)]
    public void Dropout(int opset) => Unary("Dropout", InputKind.Normal, opset);

    [TestMethod]
    public void ClipWithAttributesOpset8() => Unary("Clip", InputKind.Spaced, 8, ("min", -0.5f), ("max", 0.5f));

    [TestMethod]
    public void ClipWithInputsOpset13()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [3, 4]);
        var y = g.Node("Clip", [x, g.Floats([-0.5f], []), g.Floats([0.5f], [])]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"], kind: InputKind.Spaced);
    }

    [TestMethod]
    public void CastThroughDouble()
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [5]);
        var d = g.Node("Cast", [x], ("to", 11L));
        var e = g.Node("Mul", [d, d]);
        var y = g.Node("Cast", [e], ("to", 1L));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(11, 1)]
    [DataRow(11, 2)]
    [DataRow(13, 1)]
    public void SoftmaxAxisSemantics(int opset, int axis)
    {
        foreach (var op in new[] { "Softmax", "LogSoftmax" })
        {
            var g = new TestGraph(opset);
            var x = g.Input("x", [3, 4]);
            var y = g.Node(op, [x], ("axis", (long)axis));
            g.Output(y);
            GradientCheck.Verify(g, y, ["x"]);
        }
    }

    [TestMethod]
    [DataRow("Add")]
    [DataRow("Sub")]
    [DataRow("Mul")]
    [DataRow("Div")]
    [DataRow("Pow")]
    public void BinaryWithBroadcasting(string op)
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [3, 4]);
        var y = g.Input("y", [1, 4]);
        var kind = op is "Div" or "Pow" ? InputKind.Positive : InputKind.Normal;
        var a = g.Node(op, [x, y]);
        var b = g.Node(op, [a, g.Weights([4], name: "row")]);
        var c = g.Node(op, [g.Floats([0.7f, 1.3f, 0.9f], [3, 1]), b]);
        g.Output(c);
        GradientCheck.Verify(g, c, ["x", "y"], kind: kind);
    }

    [TestMethod]
    public void SumWhereExpand()
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [3, 4]);
        var y = g.Input("y", [1, 4]);
        var expanded = g.Node("Expand", [y, g.Ints(2, 3, 4)]);
        var condition = g.Node("Greater", [x, g.Floats([0f], [])]);
        var chosen = g.Node("Where", [condition, x, expanded]);
        var sum = g.Node("Sum", [chosen, x, y]);
        g.Output(sum);
        GradientCheck.Verify(g, sum, ["x", "y"], kind: InputKind.Spaced);
    }

    [TestMethod]
    public void MatMulBatchedAndBroadcast()
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [2, 3, 4]);
        var y = g.Input("y", [2, 4, 5]);
        var xy = g.Node("MatMul", [x, y]);
        var w = g.Node("MatMul", [xy, g.Weights([5, 2])]);
        var v = g.Node("MatMul", [w, g.Weights([2])]);
        g.Output(v);
        GradientCheck.Verify(g, v, ["x", "y"]);
    }

    [TestMethod]
    public void MatMulVectorLeft()
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [4, 3]);
        var y = g.Node("MatMul", [g.Weights([4]), x]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(0, 0)]
    [DataRow(0, 1)]
    [DataRow(1, 0)]
    [DataRow(1, 1)]
    public void Gemm(int transA, int transB)
    {
        var g = new TestGraph(11);
        var x = g.Input("x", [4]);
        var a = transA == 1 ? g.Node("Transpose", [x]) : x;
        var w = g.Weights(transB == 1 ? [5, 4] : [4, 5]);
        var y = g.Node("Gemm", [a, w, g.Weights([5])], ("alpha", 0.7f), ("beta", 1.3f), ("transA", (long)transA), ("transB", (long)transB));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"], rows: 4, batch: 4);
    }

    [TestMethod]
    public void GemmSecondOperandOnPath()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [3]);
        var t = g.Node("Transpose", [x]);
        var y = g.Node("Gemm", [g.Weights([5, 3]), t], ("alpha", 1.5f));
        var z = g.Node("Gemm", [g.Weights([5, 3]), y], ("transA", 1L), ("transB", 0L));
        var back = g.Node("Transpose", [z]);
        g.Output(back);
        GradientCheck.Verify(g, back, ["x"], rows: 4, batch: 4);
    }

    [TestMethod]
    [DataRow(1, 1, 1, 1, "0,0,0,0", "NOTSET", 7)]
    [DataRow(2, 2, 1, 3, "1,0,2,1", "NOTSET", 11)]
    [DataRow(2, 1, 2, 3, "2,2,2,2", "NOTSET", 18)]
    [DataRow(1, 2, 1, 3, "", "SAME_UPPER", 18)]
    [DataRow(2, 3, 1, 2, "", "SAME_LOWER", 18)]
    [DataRow(1, 2, 1, 3, "", "VALID", 18)]
    [DataRow(1, 1, 1, 3, "0,1,2,1", "NOTSET", 18)]
    [DataRow(2, 1, 1, 1, "1,0,0,2", "NOTSET", 18)]
    [DataRow(1, 2, 1, 1, "0,0,0,0", "NOTSET", 18)]
    [DataRow(2, 2, 1, 7, "3,3,3,3", "NOTSET", 18)]
    [DataRow(1, 3, 1, 2, "0,1,1,0", "NOTSET", 18)]
    [DataRow(1, 2, 1, 4, "4,0,0,3", "NOTSET", 18)]
    [DataRow(1, 2, 2, 3, "1,2,1,0", "NOTSET", 18)]
    public void Conv2D(int group, int stride, int dilation, int kernel, string pads, string autoPad, int opset)
    {
        // 4 input channels: the input gradient is a ConvTranspose; 16: phase convolutions (GradientRules.ConvInputGradient).
        foreach (long channels in new[] { 4, 16 })
        {
            Conv2D(group, stride, dilation, kernel, pads, autoPad, opset, channels);
        }
    }

    private static void Conv2D(int group, int stride, int dilation, int kernel, string pads, string autoPad, int opset, long channels)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [channels, 9, 8]);
        var attributes = new List<(string, object)>
        {
            ("group", (long)group), ("strides", new long[] { stride, stride }), ("dilations", new long[] { dilation, dilation }), ("kernel_shape", new long[] { kernel, kernel }),
        };
        if (pads.Length > 0)
        {
            attributes.Add(("pads", pads.Split(',').Select(long.Parse).ToArray()));
        }

        if (autoPad != "NOTSET")
        {
            attributes.Add(("auto_pad", autoPad));
        }

        var y = g.Node("Conv", [x, g.Weights([6, channels / group, kernel, kernel]), g.Weights([6])], [.. attributes]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(3)]
    [DataRow(16)]
    public void Conv1D(long channels)
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [channels, 11]);
        var y = g.Node("Conv", [x, g.Weights([2, channels, 3])], ("strides", new long[] { 2 }), ("pads", new long[] { 1, 0 }));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(3, 2, "1,1,1,1", 0, 1, 0, 8)]
    [DataRow(3, 1, "0,0,0,0", 0, 1, 0, 12)]
    [DataRow(3, 2, "0,0,0,0", 1, 1, 0, 12)]
    [DataRow(2, 1, "1,0,1,0", 0, 2, 0, 12)]
    [DataRow(3, 2, "1,1,1,1", 0, 1, 1, 12)]
    public void MaxPoolOverlapping(int kernel, int stride, string pads, int ceil, int dilation, int storageOrder, int opset)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [2, 7, 6]);
        var attributes = new List<(string, object)>
        {
            ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }), ("pads", pads.Split(',').Select(long.Parse).ToArray()),
            ("storage_order", (long)storageOrder),
        };
        if (opset >= 10)
        {
            attributes.Add(("ceil_mode", (long)ceil));
        }

        if (opset >= 12)
        {
            attributes.Add(("dilations", new long[] { dilation, dilation }));
        }

        var outputs = g.Nodes("MaxPool", [x], storageOrder == 1 ? 2 : 1, [.. attributes]);
        g.Output(outputs[0]);
        GradientCheck.Verify(g, outputs[0], ["x"], kind: InputKind.Spaced);
    }

    [TestMethod]
    public void GlobalMaxPool()
    {
        var g = new TestGraph(9);
        var x = g.Input("x", [3, 4, 5]);
        var y = g.Node("GlobalMaxPool", [x]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"], kind: InputKind.Spaced);
    }

    [TestMethod]
    [DataRow(3, 2, "1,1,1,1", 0, 0)]
    [DataRow(3, 2, "1,1,1,1", 1, 0)]
    [DataRow(3, 2, "0,1,0,1", 0, 1)]
    [DataRow(3, 2, "1,0,1,0", 1, 1)]
    [DataRow(2, 2, "0,0,0,0", 0, 0)]
    public void AveragePool(int kernel, int stride, string pads, int countIncludePad, int ceil)
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [2, 7, 6]);
        var y = g.Node("AveragePool", [x], ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { stride, stride }),
            ("pads", pads.Split(',').Select(long.Parse).ToArray()), ("count_include_pad", (long)countIncludePad), ("ceil_mode", (long)ceil));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    public void GlobalAveragePool()
    {
        var g = new TestGraph(7);
        var x = g.Input("x", [3, 4, 5]);
        var y = g.Node("GlobalAveragePool", [x]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(8)]
    [DataRow(15)]
    public void BatchNormalizationInference(int opset)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [3, 4, 4]);
        var variance = g.Floats([0.5f, 1.5f, 2f], [3]);
        var attributes = opset < 9 ? new (string, object)[] { ("epsilon", 1e-3f), ("spatial", 1L) } : [("epsilon", 1e-3f)];
        var y = g.Node("BatchNormalization", [x, g.Weights([3]), g.Weights([3]), g.Weights([3]), variance], attributes);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(-1)]
    [DataRow(1)]
    public void LayerNormalization(int axis)
    {
        var g = new TestGraph(17);
        var x = g.Input("x", [3, 5]);
        var scaleShape = axis == -1 ? new long[] { 5 } : [3, 5];
        var y = g.Node("LayerNormalization", [x, g.Weights(scaleShape, 1.5), g.Weights(scaleShape)], ("axis", (long)axis), ("epsilon", 1e-5f));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(11)]
    [DataRow(13)]
    public void ReshapeFlattenSqueezeUnsqueezeTranspose(int opset)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [2, 3, 4]);
        var flat = g.Node("Flatten", [x], ("axis", 1L));
        var reshaped = g.Node("Reshape", [flat, g.Ints(0, 4, 1, 6)]);
        var squeezed = opset < 13 ? g.Node("Squeeze", [reshaped], ("axes", new long[] { 2 })) : g.Node("Squeeze", [reshaped, g.Ints(2)]);
        var unsqueezed = opset < 13 ? g.Node("Unsqueeze", [squeezed], ("axes", new long[] { 1 })) : g.Node("Unsqueeze", [squeezed, g.Ints(1)]);
        var transposed = g.Node("Transpose", [unsqueezed], ("perm", new long[] { 0, 3, 1, 2 }));
        var y = g.Node("Mul", [transposed, g.Weights([6, 1, 4])]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    [DataRow(11)]
    [DataRow(13)]
    [DataRow(18)]
    public void ConcatAndSplit(int opset)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [3, 4]);
        var y = g.Input("y", [2, 4]);
        var joined = g.Node("Concat", [x, g.Weights([1, 2, 4]) is var w ? g.Node("Expand", [w, g.Ints(2, 2, 4)]) : "", y], ("axis", 1L));
        string[] parts = opset switch
        {
            11 => g.Nodes("Split", [joined], 3, ("axis", -2L), ("split", new long[] { 2, 4, 1 })),
            13 => g.Nodes("Split", [joined, g.Ints(2, 4, 1)], 3, ("axis", 1L)),
            _ => g.Nodes("Split", [joined], 3, ("axis", 1L), ("num_outputs", 3L)),
        };
        var y2 = g.Node("Mul", [parts[0], parts[0]]);
        var z = g.Node("Concat", [y2, parts[2]], ("axis", 1L));
        g.Output(z);
        GradientCheck.Verify(g, z, ["x", "y"]);
    }

    [TestMethod]
    public void SliceWithAttributesOpset9()
    {
        var g = new TestGraph(9);
        var x = g.Input("x", [5, 6]);
        var y = g.Node("Slice", [x], ("starts", new long[] { 1, -4 }), ("ends", new long[] { 4, 1000 }), ("axes", new long[] { 1, 2 }));
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    public void SliceWithStepsAndNegativeSteps()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [5, 7, 3]);
        var y = g.Node("Slice", [x, g.Ints(0, 6, 1), g.Ints(5, 0, 3), g.Ints(1, 2, 3), g.Ints(2, -2, 1)]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }

    [TestMethod]
    public void PadWithAttributesOpset8()
    {
        var g = new TestGraph(8);
        var x = g.Input("x", [3, 4]);
        var y = g.Node("Pad", [x], ("pads", new long[] { 0, 1, 0, 0, 2, 1 }), ("value", 0.5f));
        var z = g.Node("Mul", [y, y]);
        g.Output(z);
        GradientCheck.Verify(g, z, ["x"]);
    }

    [TestMethod]
    public void PadWithNegativePadsAndAxesOpset18()
    {
        var g = new TestGraph(18);
        var x = g.Input("x", [5, 4]);
        var y = g.Node("Pad", [x, g.Ints(-1, 2, 1, -1), g.Floats([0.25f], []), g.Ints(1, 2)]);
        var z = g.Node("Mul", [y, y]);
        g.Output(z);
        GradientCheck.Verify(g, z, ["x"]);
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(1)]
    [DataRow(2)]
    public void GatherWithRepeatedAndNegativeIndices(int axis)
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [4, 5]);
        var indices = g.Ints(1, -1, 1, 0);
        var y = g.Node("Gather", [x, indices], ("axis", (long)axis));
        var z = g.Node("Mul", [y, y]);
        g.Output(z);
        GradientCheck.Verify(g, z, ["x"], rows: axis == 0 ? 4 : 3, batch: axis == 0 ? 4 : 2);
    }

    [TestMethod]
    [DataRow("ReduceSum", 11, 1)]
    [DataRow("ReduceSum", 13, 0)]
    [DataRow("ReduceMean", 13, 1)]
    [DataRow("ReduceMean", 18, 0)]
    public void Reductions(string op, int opset, int keepDims)
    {
        var g = new TestGraph(opset);
        var x = g.Input("x", [3, 4]);
        bool axesAsInput = op == "ReduceSum" ? opset >= 13 : opset >= 18;
        var y = axesAsInput
            ? g.Node(op, [x, g.Ints(-1)], ("keepdims", (long)keepDims))
            : g.Node(op, [x], ("axes", new long[] { -1 }), ("keepdims", (long)keepDims));
        var z = g.Node("Mul", [y, y]);
        g.Output(z);
        GradientCheck.Verify(g, z, ["x"]);
    }

    [TestMethod]
    public void ShapeSubgraphsAreNotDifferentiated()
    {
        var g = new TestGraph(13);
        var x = g.Input("x", [3, 4]);
        var shape = g.Node("Shape", [x]);
        var batch = g.Node("Gather", [shape, g.Ints(0)]);
        var target = g.Node("Concat", [batch, g.Ints(-1)], ("axis", 0L));
        var flat = g.Node("Reshape", [x, target]);
        var y = g.Node("Tanh", [flat]);
        g.Output(y);
        GradientCheck.Verify(g, y, ["x"]);
    }
}
