using Onnx;

namespace MLNet.Explain.Onnx.Gradients;

/// <summary>
/// The table of vector-Jacobian product rules, one entry per operator. A rule reads the gradients of the node's outputs and sets the gradients
/// of the inputs the path needs (<see cref="VjpContext.Needs"/>), emitting only standard ai.onnx operators (opset 18 signatures).
/// </summary>
internal static class GradientRules
{
    private static readonly Dictionary<string, Action<VjpContext>> Rules = Build();

    public static bool TryGet(string opType, out Action<VjpContext> rule) => Rules.TryGetValue(opType, out rule!);

    public static IEnumerable<string> SupportedOperators => Rules.Keys.Order();

    private static Dictionary<string, Action<VjpContext>> Build()
    {
        var r = new Dictionary<string, Action<VjpContext>>();

        // Elementwise unary operators: dX = f'(X, Y) * dY.
        void Unary(string op, Func<VjpContext, string> gradient) => r[op] = c =>
        {
            OnlyInput0(c);
            c.Set(0, gradient(c));
        };

        Unary("Identity", c => c.Dy);
        Unary("Dropout", c => c.Dy);
        Unary("Neg", c => c.G.Neg(c.Dy));
        Unary("Abs", c => c.G.Mul(c.Dy, c.G.Op("Sign", [c.X])));
        Unary("Reciprocal", c => c.G.Neg(c.G.Mul(c.Dy, c.G.Mul(c.Y, c.Y))));
        Unary("Exp", c => c.G.Mul(c.Dy, c.Y));
        Unary("Log", c => c.G.Div(c.Dy, c.X));
        Unary("Sqrt", c => c.G.Div(c.G.Scale(c.Dy, 0.5), c.Y));
        Unary("Erf", c => c.G.Mul(c.Dy, c.G.Scale(c.G.Op("Exp", [c.G.Neg(c.G.Mul(c.X, c.X))]), 2 / Math.Sqrt(Math.PI))));
        Unary("Sigmoid", c => c.G.Mul(c.Dy, c.G.Mul(c.Y, c.G.Sub(c.G.Scalar(1, c.Type(c.Y)), c.Y))));
        Unary("Tanh", c => c.G.Mul(c.Dy, c.G.Sub(c.G.Scalar(1, c.Type(c.Y)), c.G.Mul(c.Y, c.Y))));
        Unary("Relu", Relu);
        Unary("LeakyRelu", c => c.G.Op("Where", [Positive(c), c.Dy, c.G.Scale(c.Dy, c.Node.Float("alpha", 0.01f))]));
        Unary("Gelu", Gelu);
        Unary("Softmax", c =>
        {
            var axis = (long)ShapeInference.NormalizeAxis(c.Node.Int("axis", -1), c.Shape(c.Y).Length);
            var dot = c.G.Op("ReduceSum", [c.G.Mul(c.Dy, c.Y), c.G.Int64s(axis)], ("keepdims", 1L));
            return c.G.Mul(c.Y, c.G.Sub(c.Dy, dot));
        });
        Unary("LogSoftmax", c =>
        {
            var axis = (long)ShapeInference.NormalizeAxis(c.Node.Int("axis", -1), c.Shape(c.Y).Length);
            var total = c.G.Op("ReduceSum", [c.Dy, c.G.Int64s(axis)], ("keepdims", 1L));
            return c.G.Sub(c.Dy, c.G.Mul(c.G.Op("Exp", [c.Y]), total));
        });
        foreach (var op in new[] { "Floor", "Ceil", "Round", "Sign" })
        {
            Unary(op, c => c.G.ZerosLike(c.X));
        }

        // Shape-only operators: the gradient is dY laid out in the input's shape.
        foreach (var op in new[] { "Reshape", "Flatten", "Squeeze", "Unsqueeze" })
        {
            Unary(op, c => c.G.Reshape(c.Dy, c.Shape(c.X)));
        }

        Unary("Expand", c => c.G.SumToShape(c.Dy, c.Shape(c.X)));
        Unary("Transpose", c =>
        {
            int rank = c.Shape(c.X).Length;
            var perm = c.Node.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
            var inverse = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                inverse[perm[i]] = i;
            }

            return c.G.Transpose(c.Dy, inverse);
        });
        Unary("Cast", c =>
        {
            if (!ElementType.IsFloat(c.Type(c.X)) || !ElementType.IsFloat(c.Type(c.Y)))
            {
                throw c.Unsupported($"a gradient through a Cast from {ElementType.Name(c.Type(c.X))} to {ElementType.Name(c.Type(c.Y))} (only casts between floating-point types are differentiable)");
            }

            return c.Type(c.X) == c.Type(c.Y) ? c.Dy : c.G.Op("Cast", [c.Dy], ("to", (long)c.Type(c.X)));
        });
        r["Clip"] = c =>
        {
            OnlyInput0(c);
            string? mask = null;
            if (c.HasInput(1))
            {
                mask = c.G.Op("GreaterOrEqual", [c.X, c.In(1)]);
            }

            if (c.HasInput(2))
            {
                var upper = c.G.Op("LessOrEqual", [c.X, c.In(2)]);
                mask = mask is null ? upper : c.G.Op("And", [mask, upper]);
            }

            c.Set(0, mask is null ? c.Dy : c.G.Op("Where", [mask, c.Dy, c.G.Scalar(0, c.Type(c.X))]));
        };

        // Broadcasting binary operators: elementwise rule, then sum over the broadcast axes back to each operand's shape.
        r["Add"] = c => Binary(c, (_, dy) => dy, (_, dy) => dy);
        r["Sub"] = c => Binary(c, (_, dy) => dy, (g, dy) => g.Neg(dy));
        r["Mul"] = c => Binary(c, (g, dy) => g.Mul(dy, c.In(1)), (g, dy) => g.Mul(dy, c.In(0)));
        r["Div"] = c => Binary(c, (g, dy) => g.Div(dy, c.In(1)), (g, dy) => g.Neg(g.Div(g.Mul(dy, c.Y), c.In(1))));
        r["Pow"] = c => Binary(
            c,
            (g, dy) =>
            {
                var exponent = c.Type(c.In(1)) == c.Type(c.X) ? c.In(1) : g.Op("Cast", [c.In(1)], ("to", (long)c.Type(c.X)));
                var lowered = g.Op("Pow", [c.X, g.Sub(exponent, g.Scalar(1, c.Type(c.X)))]);
                return g.Mul(dy, g.Mul(exponent, lowered));
            },
            (g, dy) => g.Mul(dy, g.Mul(c.Y, g.Op("Log", [c.X]))));
        r["Sum"] = c =>
        {
            for (int i = 0; i < c.Node.Input.Count; i++)
            {
                if (c.Needs(i))
                {
                    c.Set(i, c.G.SumToShape(c.Dy, c.Shape(c.In(i))));
                }
            }
        };
        r["Where"] = c =>
        {
            if (c.Needs(0))
            {
                throw c.Unsupported("a gradient with respect to the condition input");
            }

            var zero = c.G.Scalar(0, c.Type(c.Y));
            if (c.Needs(1))
            {
                c.Set(1, c.G.SumToShape(c.G.Op("Where", [c.In(0), c.Dy, zero]), c.Shape(c.In(1))));
            }

            if (c.Needs(2))
            {
                c.Set(2, c.G.SumToShape(c.G.Op("Where", [c.In(0), zero, c.Dy]), c.Shape(c.In(2))));
            }
        };

        r["MatMul"] = MatMul;
        r["Gemm"] = Gemm;
        r["Conv"] = Conv;
        r["MaxPool"] = MaxPool;
        r["GlobalMaxPool"] = GlobalMaxPool;
        r["AveragePool"] = AveragePool;
        Unary("GlobalAveragePool", c =>
        {
            var shape = c.Shape(c.X);
            long area = shape[2..].Aggregate(1L, (a, b) => a * b);
            return c.G.Expand(c.G.Scale(c.Dy, 1.0 / area), shape);
        });
        r["BatchNormalization"] = BatchNormalization;
        r["LayerNormalization"] = LayerNormalization;
        r["ReduceSum"] = c => Reduce(c, mean: false);
        r["ReduceMean"] = c => Reduce(c, mean: true);
        r["Concat"] = Concat;
        r["Split"] = Split;
        r["Slice"] = Slice;
        r["Pad"] = Pad;
        r["Gather"] = Gather;
        return r;
    }

    private static void OnlyInput0(VjpContext c)
    {
        for (int i = 1; i < c.Node.Input.Count; i++)
        {
            if (c.Needs(i))
            {
                throw c.Unsupported($"a gradient with respect to input {i} ('{c.In(i)}')");
            }
        }
    }

    private static string Positive(VjpContext c) => c.G.Op("Greater", [c.X, c.G.Scalar(0, c.Type(c.X))]);

    /// <summary>
    /// X &gt; 0 read from the Relu output (Y &gt; 0 exactly where X &gt; 0), so the pre-activation is not needed by the backward graph and ONNX
    /// Runtime can still fuse the Relu into the Conv/Add before it.
    /// </summary>
    private static string ReluActive(VjpContext c) => c.G.Op("Greater", [c.Y, c.G.Scalar(0, c.Type(c.Y))]);

    /// <summary>Standard: pass dY where X &gt; 0. Guided Backprop also drops negative dY; Deconvnet keeps only positive dY regardless of X.</summary>
    private static string Relu(VjpContext c)
    {
        var zero = c.G.Scalar(0, c.Type(c.X));
        return c.ReluMode switch
        {
            ReluGradientMode.Standard => c.G.Op("Where", [ReluActive(c), c.Dy, zero]),
            ReluGradientMode.Guided => c.G.Op("Where", [ReluActive(c), c.G.Op("Relu", [c.Dy]), zero]),
            ReluGradientMode.Deconvnet => c.G.Op("Relu", [c.Dy]),
            _ => throw new ArgumentOutOfRangeException(nameof(c), c.ReluMode, "Unknown ReLU gradient mode."),
        };
    }

    private static string Gelu(VjpContext c)
    {
        var g = c.G;
        int t = c.Type(c.X);
        var x = c.X;
        string derivative;
        if (c.Node.Str("approximate", "none") == "tanh")
        {
            // y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
            const double k = 0.044715;
            double s = Math.Sqrt(2 / Math.PI);
            var x2 = g.Mul(x, x);
            var u = g.Scale(g.Add(x, g.Scale(g.Mul(x2, x), k)), s);
            var th = g.Op("Tanh", [u]);
            var one = g.Scalar(1, t);
            var du = g.Scale(g.Add(one, g.Scale(x2, 3 * k)), s);
            var left = g.Scale(g.Add(one, th), 0.5);
            var right = g.Mul(g.Scale(x, 0.5), g.Mul(g.Sub(one, g.Mul(th, th)), du));
            derivative = g.Add(left, right);
        }
        else
        {
            // Phi(x) + x phi(x)
            var cdf = g.Scale(g.Add(g.Scalar(1, t), g.Op("Erf", [g.Scale(x, 1 / Math.Sqrt(2))])), 0.5);
            var pdf = g.Scale(g.Op("Exp", [g.Scale(g.Mul(x, x), -0.5)]), 1 / Math.Sqrt(2 * Math.PI));
            derivative = g.Add(cdf, g.Mul(x, pdf));
        }

        return g.Mul(c.Dy, derivative);
    }

    private static void Binary(VjpContext c, Func<GraphEmitter, string, string> left, Func<GraphEmitter, string, string> right)
    {
        if (c.Needs(0))
        {
            c.Set(0, c.G.SumToShape(left(c.G, c.Dy), c.Shape(c.In(0))));
        }

        if (c.Needs(1))
        {
            c.Set(1, c.G.SumToShape(right(c.G, c.Dy), c.Shape(c.In(1))));
        }
    }

    private static long[] SwapLastTwo(int rank) =>
        Enumerable.Range(0, rank).Select(i => (long)(i == rank - 1 ? rank - 2 : i == rank - 2 ? rank - 1 : i)).ToArray();

    /// <summary>N-D MatMul with numpy broadcasting; 1-D operands are promoted to matrices the way MatMul does.</summary>
    private static void MatMul(VjpContext c)
    {
        var g = c.G;
        var (sa, sb) = (c.Shape(c.In(0)), c.Shape(c.In(1)));
        long[] a2 = sa.Length == 1 ? [1, sa[0]] : sa;
        long[] b2 = sb.Length == 1 ? [sb[0], 1] : sb;
        var batch = ShapeInference.Broadcast(a2[..^2], b2[..^2]);
        var dy = g.Reshape(c.Dy, [.. batch, a2[^2], b2[^1]]);
        if (c.Needs(0))
        {
            var b = g.Reshape(c.In(1), b2);
            var da = g.Op("MatMul", [dy, g.Transpose(b, SwapLastTwo(b2.Length))]);
            c.Set(0, g.Reshape(g.SumToShape(da, a2), sa));
        }

        if (c.Needs(1))
        {
            var a = g.Reshape(c.In(0), a2);
            var db = g.Op("MatMul", [g.Transpose(a, SwapLastTwo(a2.Length)), dy]);
            c.Set(1, g.Reshape(g.SumToShape(db, b2), sb));
        }
    }

    private static void Gemm(VjpContext c)
    {
        var g = c.G;
        double alpha = c.Node.Float("alpha", 1f);
        bool transA = c.Node.Int("transA", 0) != 0;
        bool transB = c.Node.Int("transB", 0) != 0;
        var (a, b, dy) = (c.In(0), c.In(1), c.Dy);
        if (c.Needs(0))
        {
            c.Set(0, transA
                ? g.Op("Gemm", [b, dy], ("alpha", alpha), ("transA", transB ? 1L : 0L), ("transB", 1L))
                : g.Op("Gemm", [dy, b], ("alpha", alpha), ("transB", transB ? 0L : 1L)));
        }

        if (c.Needs(1))
        {
            c.Set(1, transB
                ? g.Op("Gemm", [dy, a], ("alpha", alpha), ("transA", 1L), ("transB", transA ? 1L : 0L))
                : g.Op("Gemm", [a, dy], ("alpha", alpha), ("transA", transA ? 0L : 1L)));
        }

        if (c.Needs(2))
        {
            c.Set(2, g.SumToShape(g.Scale(dy, c.Node.Float("beta", 1f)), c.Shape(c.In(2))));
        }
    }

    /// <summary>
    /// ConvTranspose of dY producing exactly the forward input extent: the forward begin pads are kept and the end pad / output_padding
    /// are chosen so the output size matches (explicit pads only: auto_pad and output_shape on ConvTranspose are avoided on purpose).
    /// </summary>
    private static string ConvTransposeTo(GraphEmitter g, string dy, string weights, long group, WindowGeometry w)
    {
        int n = w.Kernel.Length;
        var end = new long[n];
        var outputPadding = new long[n];
        for (int i = 0; i < n; i++)
        {
            long full = (w.Strides[i] * (w.Output[i] - 1)) + (w.Dilations[i] * (w.Kernel[i] - 1)) + 1 - w.PadBegin[i];
            long excess = full - w.Input[i];
            (end[i], outputPadding[i]) = excess >= 0 ? (excess, 0L) : (0L, -excess);
        }

        return g.Op("ConvTranspose", [dy, weights],
            ("strides", w.Strides), ("dilations", w.Dilations), ("group", group), ("kernel_shape", w.Kernel),
            ("pads", w.PadBegin.Concat(end).ToArray()), ("output_padding", outputPadding));
    }

    /// <summary>
    /// The Conv input gradient as ordinary convolutions of dY, which ONNX Runtime runs with its blocked (NCHWc) kernels, several times faster on
    /// CPU than ConvTranspose. Along an axis with stride s, the input positions q·s + r of one phase r receive dY only through the kernel taps
    /// t ≡ r + padBegin (mod s), so each phase is a stride-1 Conv of dY with those taps reversed, and the phases interleave into dX (a polyphase
    /// decomposition: no multiplications by inserted zeros). With stride 1 there is one phase, the Conv with the flipped kernel. Strided axes
    /// with dilation use ConvTranspose, and so do gradients with fewer channels than one block of the blocked kernels (an RGB image input):
    /// there ConvTranspose's single GEMM is cheaper than convolutions whose few output channels are padded to a block (measured on ResNet18's
    /// first convolution, docs/benchmarks.md).
    /// </summary>
    private static string ConvInputGradient(GraphEmitter g, string dy, string weights, long group, WindowGeometry w)
    {
        const long blockedChannels = 16;
        int n = w.Kernel.Length;
        var phases = Enumerable.Range(0, n).Select(axis => AxisPhase.Of(w, axis)).ToArray();
        if (phases.Any(p => p is null) || g.Shape(weights)[1] * group < blockedChannels)
        {
            return ConvTransposeTo(g, dy, weights, group, w);
        }

        var kernel = SwapKernelChannels(g, weights, group);
        var batchAndChannels = new[] { g.Shape(dy)[0], g.Shape(kernel)[0] };
        var phaseLength = phases.Select(p => p![0].Length).ToArray();
        string Phase(AxisPhase[] axes)
        {
            var crop = axes.Select((p, i) => (Begin: Math.Max(0, -p.PadBegin), End: w.Output[i] - Math.Max(0, -p.PadEnd))).ToArray();
            if (axes.Any(p => p.Taps == 0 || p.Length == 0) || crop.Any(c => c.End <= c.Begin))
            {
                return g.Zeros([.. batchAndChannels, .. phaseLength], g.Type(dy));
            }

            var spatialAxes = Enumerable.Range(2, n).Select(i => (long)i).ToArray();
            var source = crop.Select((c, i) => c.Begin == 0 && c.End == w.Output[i]).All(b => b)
                ? dy
                : g.Op("Slice", [dy, g.Int64s(crop.Select(c => c.Begin).ToArray()), g.Int64s(crop.Select(c => c.End).ToArray()), g.Int64s(spatialAxes)]);
            var taps = g.Op("Slice", [kernel,
                g.Int64s(axes.Select(p => p.TapStart + ((p.Taps - 1) * p.TapStep)).ToArray()),
                g.Int64s(axes.Select(p => p.TapStart == 0 ? long.MinValue : p.TapStart - 1).ToArray()),
                g.Int64s(spatialAxes), g.Int64s(axes.Select(p => -p.TapStep).ToArray())]);
            var pads = axes.Select(p => Math.Max(0, p.PadBegin)).Concat(axes.Select(p => Math.Max(0, p.PadEnd))).ToArray();
            var result = g.Op("Conv", [source, taps], ("dilations", axes.Select(p => p.Dilation).ToArray()), ("group", group),
                ("kernel_shape", axes.Select(p => p.Taps).ToArray()), ("pads", pads));
            var shortfall = axes.Select((p, i) => phaseLength[i] - p.Length).ToArray();
            return shortfall.All(s => s == 0) ? result : g.Op("Pad", [result, g.Int64s([.. new long[n + 2], 0, 0, .. shortfall])]);
        }

        // Interleave the phases axis by axis: stack the s phases of an axis next to it and merge the two axes.
        string Interleave(int axis, AxisPhase[] chosen)
        {
            if (axis == n)
            {
                return Phase(chosen);
            }

            var parts = phases[axis]!.Select(p => Interleave(axis + 1, [.. chosen, p])).ToArray();
            if (parts.Length == 1)
            {
                return parts[0];
            }

            var shape = g.Shape(parts[0]);
            var stackedShape = shape.Take(axis + 3).Append(1).Concat(shape.Skip(axis + 3)).ToArray();
            var stacked = g.Op("Concat", parts.Select(part => g.Reshape(part, stackedShape)).ToArray(), ("axis", (long)axis + 3));
            return g.Reshape(stacked, [.. shape.Take(axis + 2), shape[axis + 2] * parts.Length, .. shape.Skip(axis + 3)]);
        }

        var full = Interleave(0, []);
        var extent = g.Shape(full)[2..];
        return extent.SequenceEqual(w.Input)
            ? full
            : g.Op("Slice", [full, g.Int64s(new long[n]), g.Int64s(w.Input), g.Int64s(Enumerable.Range(2, n).Select(i => (long)i).ToArray())]);
    }

    /// <summary>Kernel [M, C/group, k...] as [C, M/group, k...]: the channel axes swapped within each group (constant-folded by ONNX Runtime for initializers).</summary>
    private static string SwapKernelChannels(GraphEmitter g, string weights, long group)
    {
        var shape = g.Shape(weights);
        var kernel = shape[2..];
        var grouped = g.Reshape(weights, [group, shape[0] / group, shape[1], .. kernel]);
        var swapped = g.Transpose(grouped, [0, 2, 1, .. Enumerable.Range(3, kernel.Length).Select(i => (long)i)]);
        return g.Reshape(swapped, [group * shape[1], shape[0] / group, .. kernel]);
    }

    /// <summary>
    /// One phase of the Conv input gradient along one spatial axis: the input positions q·stride + r (Length of them) are a Conv of dY with the
    /// kernel taps TapStart, TapStart + TapStep, ... (Taps of them, reversed), dilated by Dilation, with signed pads (negative: crop dY).
    /// </summary>
    private sealed record AxisPhase(long TapStart, long Taps, long TapStep, long Dilation, long PadBegin, long PadEnd, long Length)
    {
        public static AxisPhase[]? Of(WindowGeometry w, int axis)
        {
            var (stride, dilation, kernel) = (w.Strides[axis], w.Dilations[axis], w.Kernel[axis]);
            var (padBegin, input, output) = (w.PadBegin[axis], w.Input[axis], w.Output[axis]);
            if (stride == 1)
            {
                long reach = dilation * (kernel - 1);
                return [new(0, kernel, 1, dilation, reach - padBegin, input - output + padBegin, input)];
            }

            if (dilation != 1)
            {
                return null;
            }

            return Enumerable.Range(0, (int)stride).Select(r =>
            {
                long first = (r + padBegin) % stride;
                long taps = first < kernel ? (kernel - first + stride - 1) / stride : 0;
                long length = r < input ? (input - r + stride - 1) / stride : 0;
                long begin = taps - 1 - ((r + padBegin) / stride);
                return new AxisPhase(first, taps, stride, 1, begin, length - output - begin + taps - 1, length);
            }).ToArray();
        }
    }

    private static void Conv(VjpContext c)
    {
        var g = c.G;
        var (xShape, wShape) = (c.Shape(c.X), c.Shape(c.In(1)));
        if (c.Needs(1))
        {
            throw c.Unsupported("a gradient with respect to the convolution weights");
        }

        if (c.Needs(0))
        {
            var window = ShapeInference.Window(c.Node, xShape, c.Node.Ints("kernel_shape") ?? wShape[2..]);
            c.Set(0, ConvInputGradient(g, c.Dy, c.In(1), c.Node.Int("group", 1), window));
        }

        if (c.Needs(2))
        {
            c.Set(2, g.ReduceSum(c.Dy, Enumerable.Range(0, xShape.Length).Where(i => i != 1), keepDims: false));
        }
    }

    /// <summary>Routes dY to the arg-max positions given by MaxPool's Indices, adding where overlapping windows share a maximum.</summary>
    private static string ScatterToIndices(GraphEmitter g, string x, string indices, string dy, long storageOrder)
    {
        var shape = g.Shape(x);
        long count = g[dy].ElementCount;
        var flatIndices = g.Reshape(indices, [count]);
        if (storageOrder == 1)
        {
            if (shape.Length != 4)
            {
                throw new NotSupportedException("MaxPool with storage_order=1 is supported for 2-D pooling only.");
            }

            // Column-major spatial index (n, c, w, h) -> row-major (n, c, h, w).
            var (height, width) = (shape[2], shape[3]);
            var area = g.Int64Scalar(height * width);
            var plane = g.Div(flatIndices, area);
            var within = g.Op("Mod", [flatIndices, area]);
            var column = g.Div(within, g.Int64Scalar(height));
            var row = g.Op("Mod", [within, g.Int64Scalar(height)]);
            flatIndices = g.Add(g.Add(g.Mul(plane, area), g.Mul(row, g.Int64Scalar(width))), column);
        }

        long total = shape.Aggregate(1L, (a, b) => a * b);
        var scattered = g.Op("ScatterElements", [g.Zeros([total], g.Type(x)), flatIndices, g.Reshape(dy, [count])], ("axis", 0L), ("reduction", "add"));
        return g.Reshape(scattered, shape);
    }

    private static void MaxPool(VjpContext c)
    {
        OnlyInput0(c);
        if (c.OutGrad(1) is not null)
        {
            throw c.Unsupported("a gradient through the Indices output");
        }

        string indices;
        if (c.Node.Output.Count > 1 && c.Node.Output[1].Length > 0)
        {
            indices = c.Node.Output[1];
        }
        else
        {
            indices = c.G.Fresh("maxpool_indices");
            while (c.Node.Output.Count < 2)
            {
                c.Node.Output.Add("");
            }

            c.Node.Output[1] = indices;
            c.G.Info[indices] = c.G[c.Y] with { ElementType = ElementType.Int64 };
        }

        c.Set(0, ScatterToIndices(c.G, c.X, indices, c.Dy, c.Node.Int("storage_order", 0)));
    }

    /// <summary>A MaxPool over the whole spatial extent yields the indices, so a channel's gradient goes to one arg-max even when values tie.</summary>
    private static void GlobalMaxPool(VjpContext c)
    {
        OnlyInput0(c);
        var spatial = c.Shape(c.X)[2..];
        var outputs = c.G.Ops("MaxPool", [c.X], 2, ("kernel_shape", spatial));
        c.Set(0, ScatterToIndices(c.G, c.X, outputs[1], c.Dy, 0));
    }

    private static void AveragePool(VjpContext c)
    {
        OnlyInput0(c);
        var g = c.G;
        var xShape = c.Shape(c.X);
        int type = c.Type(c.X);
        var window = ShapeInference.Window(c.Node, xShape, c.Node.Ints("kernel_shape")!);
        bool includePad = c.Node.Int("count_include_pad", 0) != 0;
        long kernelSize = window.Kernel.Aggregate(1L, (a, b) => a * b);

        // Number of elements each output averaged over, per axis; the divisor is their product (windows are separable).
        var counts = Enumerable.Range(0, window.Kernel.Length).Select(axis => Enumerable.Range(0, (int)window.Output[axis]).Select(o =>
        {
            long low = includePad ? -window.PadBegin[axis] : 0;
            long high = includePad ? window.Input[axis] + window.PadEnd[axis] : window.Input[axis];
            return Enumerable.Range(0, (int)window.Kernel[axis])
                .Select(j => (o * window.Strides[axis]) - window.PadBegin[axis] + (j * window.Dilations[axis]))
                .Count(p => p >= low && p < high);
        }).ToArray()).ToArray();

        var divisor = Cartesian(counts);
        string dy = divisor.All(d => d == kernelSize)
            ? g.Scale(c.Dy, 1.0 / kernelSize)
            : g.Div(c.Dy, g.Constant(divisor.Select(d => (float)d).ToArray(), [1, 1, .. window.Output], type));
        long channels = xShape[1];
        var ones = g.Constant(Enumerable.Repeat(1f, (int)(channels * kernelSize)).ToArray(), [channels, 1, .. window.Kernel], type);
        c.Set(0, ConvTransposeTo(g, dy, ones, channels, window));
    }

    private static long[] Cartesian(int[][] perAxis)
    {
        IEnumerable<long> result = [1L];
        foreach (var axis in perAxis)
        {
            result = result.SelectMany(prefix => axis.Select(v => prefix * v)).ToArray();
        }

        return result.ToArray();
    }

    private static void BatchNormalization(VjpContext c)
    {
        OnlyInput0(c);
        if (c.Node.Int("training_mode", 0) != 0)
        {
            throw c.Unsupported("training_mode=1 (only inference-mode BatchNormalization is differentiated)");
        }

        var g = c.G;
        var xShape = c.Shape(c.X);
        int type = c.Type(c.X);
        var std = g.Op("Sqrt", [g.Add(c.In(4), g.Scalar(c.Node.Float("epsilon", 1e-5f), type))]);
        var factor = g.Div(c.In(1), std);
        long channels = xShape[1];
        var perChannel = g.Reshape(factor, [channels, .. Enumerable.Repeat(1L, xShape.Length - 2)]);
        c.Set(0, g.Mul(c.Dy, perChannel));
    }

    /// <summary>dX = r (g - mean(g) - x̂ mean(g x̂)) with g = dY·scale, x̂ = (x - μ) r over the normalized axes.</summary>
    private static void LayerNormalization(VjpContext c)
    {
        OnlyInput0(c);
        if (c.OutGrad(1) is not null || c.OutGrad(2) is not null)
        {
            throw c.Unsupported("a gradient through the Mean or InvStdDev outputs");
        }

        var g = c.G;
        var xShape = c.Shape(c.X);
        int type = c.Type(c.X);
        int axis = ShapeInference.NormalizeAxis(c.Node.Int("axis", -1), xShape.Length);
        var axes = Enumerable.Range(axis, xShape.Length - axis).ToArray();
        var mean = g.ReduceMean(c.X, axes, keepDims: true);
        var centered = g.Sub(c.X, mean);
        var variance = g.ReduceMean(g.Mul(centered, centered), axes, keepDims: true);
        var rstd = g.Op("Reciprocal", [g.Op("Sqrt", [g.Add(variance, g.Scalar(c.Node.Float("epsilon", 1e-5f), type))])]);
        var normalized = g.Mul(centered, rstd);
        var scaled = g.Mul(c.Dy, c.In(1));
        var meanScaled = g.ReduceMean(scaled, axes, keepDims: true);
        var meanProjection = g.ReduceMean(g.Mul(scaled, normalized), axes, keepDims: true);
        c.Set(0, g.Mul(rstd, g.Sub(g.Sub(scaled, meanScaled), g.Mul(normalized, meanProjection))));
    }

    private static void Reduce(VjpContext c, bool mean)
    {
        OnlyInput0(c);
        var g = c.G;
        var xShape = c.Shape(c.X);
        var axes = ShapeInference.ReduceAxes(c.View(), xShape.Length);
        var kept = xShape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        var dy = g.Expand(g.Reshape(c.Dy, kept), xShape);
        long count = axes.Aggregate(1L, (a, i) => a * xShape[i]);
        c.Set(0, mean && count != 1 ? g.Scale(dy, 1.0 / count) : dy);
    }

    private static void Concat(VjpContext c)
    {
        var g = c.G;
        int rank = c.Shape(c.Y).Length;
        long axis = ShapeInference.NormalizeAxis(c.Node.Int("axis", 0), rank);
        var sizes = c.Node.Input.Select(i => c.Shape(i)[axis]).ToArray();
        var parts = g.Ops("Split", [c.Dy, g.Int64s(sizes)], sizes.Length, ("axis", axis));
        for (int i = 0; i < sizes.Length; i++)
        {
            if (c.Needs(i))
            {
                c.Set(i, parts[i]);
            }
        }
    }

    private static void Split(VjpContext c)
    {
        OnlyInput0(c);
        int rank = c.Shape(c.X).Length;
        long axis = ShapeInference.NormalizeAxis(c.Node.Int("axis", 0), rank);
        var parts = c.Node.Output.Select((o, i) => c.OutGrad(i) ?? c.G.ZerosLike(o)).ToArray();
        c.Set(0, c.G.Op("Concat", parts, ("axis", axis)));
    }

    /// <summary>Unit steps: zero-pad dY back to the input extent. Other steps: scatter dY to the sliced positions of that axis.</summary>
    private static void Slice(VjpContext c)
    {
        OnlyInput0(c);
        var g = c.G;
        var xShape = c.Shape(c.X);
        int rank = xShape.Length;
        var bounds = SliceBounds.Resolve(c.View(), xShape);
        var dy = c.Dy;
        var pads = new long[2 * rank];
        for (int axis = 0; axis < rank; axis++)
        {
            long length = bounds.OutputShape[axis];
            if (bounds.Step[axis] == 1)
            {
                pads[axis] = bounds.Start[axis];
                pads[axis + rank] = xShape[axis] - bounds.Start[axis] - length;
                continue;
            }

            var positions = Enumerable.Range(0, (int)length).Select(i => bounds.Start[axis] + (i * bounds.Step[axis])).ToArray();
            var current = g.Shape(dy);
            var along = current.Select((_, i) => i == axis ? length : 1L).ToArray();
            var target = current.Select((d, i) => i == axis ? xShape[axis] : d).ToArray();
            var indices = g.Expand(g.Reshape(g.Int64s(positions), along), current);
            dy = g.Op("ScatterElements", [g.Zeros(target, c.Type(c.X)), indices, dy], ("axis", (long)axis));
        }

        c.Set(0, pads.All(p => p == 0) ? dy : g.Op("Pad", [dy, g.Int64s(pads)]));
    }

    /// <summary>Constant-mode Pad: the gradient is the interior of dY; negative pads (crops) become zero padding.</summary>
    private static void Pad(VjpContext c)
    {
        OnlyInput0(c);
        if (c.Node.Str("mode", "constant") != "constant")
        {
            throw c.Unsupported($"mode '{c.Node.Str("mode", "constant")}' (only constant padding is differentiated)");
        }

        var g = c.G;
        var xShape = c.Shape(c.X);
        var yShape = c.Shape(c.Y);
        int rank = xShape.Length;
        var pads = ShapeInference.PadAmounts(c.View(), rank);
        var starts = Enumerable.Range(0, rank).Select(i => Math.Max(pads[i], 0)).ToArray();
        var ends = Enumerable.Range(0, rank).Select(i => yShape[i] - Math.Max(pads[i + rank], 0)).ToArray();
        var axes = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        var inner = g.Op("Slice", [c.Dy, g.Int64s(starts), g.Int64s(ends), g.Int64s(axes)]);
        var restore = Enumerable.Range(0, 2 * rank).Select(i => Math.Max(-pads[i], 0)).ToArray();
        c.Set(0, restore.All(p => p == 0) ? inner : g.Op("Pad", [inner, g.Int64s(restore)]));
    }

    /// <summary>Moves the gathered axis to the front and adds dY rows into it with ScatterND (repeated indices add up).</summary>
    private static void Gather(VjpContext c)
    {
        OnlyInput0(c);
        var g = c.G;
        var xShape = c.Shape(c.X);
        int rank = xShape.Length;
        int axis = ShapeInference.NormalizeAxis(c.Node.Int("axis", 0), rank);
        int indexRank = c.Shape(c.In(1)).Length;
        var indices = c.Type(c.In(1)) == ElementType.Int64 ? c.In(1) : g.Op("Cast", [c.In(1)], ("to", (long)ElementType.Int64));
        var size = g.Int64Scalar(xShape[axis]);
        indices = g.Op("Mod", [g.Add(indices, size), size]);

        // dY axes: [0, axis) outer, [axis, axis + indexRank) index, rest inner. Bring index axes first.
        var order = Enumerable.Range(axis, indexRank).Concat(Enumerable.Range(0, axis)).Concat(Enumerable.Range(axis + indexRank, rank - axis - 1)).Select(i => (long)i).ToArray();
        var dy = order.Select((v, i) => v == i).All(b => b) ? c.Dy : g.Transpose(c.Dy, order);
        var frontShape = new[] { xShape[axis] }.Concat(xShape[..axis]).Concat(xShape[(axis + 1)..]).ToArray();
        var scattered = g.Op("ScatterND", [g.Zeros(frontShape, c.Type(c.X)), g.Op("Unsqueeze", [indices, g.Int64s(-1)]), dy], ("reduction", "add"));
        var back = Enumerable.Range(1, axis).Concat([0]).Concat(Enumerable.Range(axis + 1, rank - axis - 1)).Select(i => (long)i).ToArray();
        c.Set(0, axis == 0 ? scattered : g.Transpose(scattered, back));
    }
}
