using Google.Protobuf;
using MLNet.Explain.Onnx;
using Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>Builds small ONNX models in code for the gradient rule tests.</summary>
internal sealed class TestGraph
{
    private readonly ModelProto _model;
    private int _counter;

    public TestGraph(int opset = 18)
    {
        _model = new ModelProto { IrVersion = opset >= 21 ? 10 : opset >= 18 ? 8 : 7, Graph = new GraphProto { Name = "test" }, ProducerName = "MLNet.Explain.Tests" };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    public Random Random { get; } = new(1234);

    public GraphProto Graph => _model.Graph;

    /// <summary>A float input; the first dimension is the batch (symbolic unless <paramref name="fixedBatchOne"/>).</summary>
    public string Input(string name, long[] rowShape, bool fixedBatchOne = false)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(fixedBatchOne ? new TensorShapeProto.Types.Dimension { DimValue = 1 } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in rowShape)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        Graph.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } });
        return name;
    }

    public string Weights(long[] shape, double scale = 0.5, string? name = null)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, (int)count).Select(_ => (float)((Random.NextDouble() * 2 - 1) * scale)).ToArray();
        return Floats(values, shape, name);
    }

    public string Floats(float[] values, long[] shape, string? name = null)
    {
        name ??= $"w{_counter++}";
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(shape);
        t.FloatData.AddRange(values);
        Graph.Initializer.Add(t);
        return name;
    }

    public string Ints(params long[] values)
    {
        string name = $"i{_counter++}";
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        return name;
    }

    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) => Nodes(op, inputs, 1, attributes)[0];

    public string[] Nodes(string op, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_counter++}" };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(_ => $"t{_counter++}").ToArray();
        node.Output.AddRange(names);
        foreach (var (n, v) in attributes)
        {
            node.Attribute.Add(Attr(n, v));
        }

        Graph.Node.Add(node);
        return names;
    }

    public void Output(string name, int elementType = 1) =>
        Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType } } });

    public OnnxGradientModel Build() => OnnxGradientModel.FromBytes(_model.ToByteArray());

    public byte[] Bytes() => _model.ToByteArray();

    private static AttributeProto Attr(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = i;
                break;
            case long l:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = l;
                break;
            case float f:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = f;
                break;
            case double d:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = (float)d;
                break;
            case string s:
                a.Type = AttributeProto.Types.AttributeType.String;
                a.S = ByteString.CopyFromUtf8(s);
                break;
            case long[] ls:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ls);
                break;
            case int[] ints:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ints.Select(v => (long)v));
                break;
            default:
                throw new ArgumentException(name);
        }

        return a;
    }
}

/// <summary>How test inputs are drawn.</summary>
public enum InputKind
{
    /// <summary>Standard normal values.</summary>
    Normal,

    /// <summary>Distinct values on a grid of spacing 0.05 at least 0.025 away from zero: no ties and no kink within the finite-difference step.</summary>
    Spaced,

    /// <summary>Values in [0.5, 2] (for Log, Sqrt, Reciprocal, Pow bases).</summary>
    Positive,
}

/// <summary>Finite-difference checks of the gradient engine: directional derivatives of L(x) = Σ cotangent · f(x) against Σ gradient · direction.</summary>
internal static class GradientCheck
{
    public const double Step = 1e-2;
    public const double Tolerance = 1e-3;

    public static void Verify(TestGraph graph, string output, string[] wrt, int rows = 3, int batch = 2, InputKind kind = InputKind.Normal, double step = Step)
    {
        var model = graph.Build();
        var options = new GradientGraphOptions { BatchSize = batch, OutputName = output };
        foreach (var w in wrt)
        {
            options.WithRespectTo.Add(w);
        }

        using var session = model.CreateSession(options);
        AssertStandardOperators(session.Graph);
        var random = new Random(42);
        var inputs = model.InputNames.ToDictionary(n => n, n => Draw(random, (int)(rows * session.RowSize(n)), kind));
        var cotangent = Draw(random, (int)(rows * session.RowSize(session.Graph.CotangentInputName)), InputKind.Normal);
        var result = session.Run(inputs, cotangent);
        Assert.AreEqual(rows, result.Rows);

        foreach (var name in wrt)
        {
            var gradient = result.Gradients[name];
            Assert.AreEqual(inputs[name].Length, gradient.Length, $"gradient of {name} has the input's size");
            for (int trial = 0; trial < 3; trial++)
            {
                var direction = Enumerable.Range(0, gradient.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                double analytic = 0, scale = 0;
                for (int i = 0; i < gradient.Length; i++)
                {
                    analytic += (double)gradient[i] * direction[i];
                    scale += Math.Abs((double)gradient[i] * direction[i]);
                }

                double plus = Loss(session, inputs, name, direction, step, cotangent);
                double minus = Loss(session, inputs, name, direction, -step, cotangent);
                double numeric = (plus - minus) / (2 * step);
                double error = Math.Abs(numeric - analytic) / Math.Max(scale, 1e-6);
                Assert.IsTrue(error <= Tolerance,
                    $"d/d{name} of {output}: finite difference {numeric:G7}, gradient {analytic:G7} (scale {scale:G5}), relative error {error:G3} > {Tolerance}");
                Assert.IsTrue(scale > 1e-4 || Math.Abs(numeric) < 1e-4, $"gradient of {name} is zero but the finite difference is {numeric}");
            }
        }
    }

    public static float[] Draw(Random random, int count, InputKind kind) => kind switch
    {
        InputKind.Normal => Enumerable.Range(0, count).Select(_ => (float)Normal(random)).ToArray(),
        InputKind.Positive => Enumerable.Range(0, count).Select(_ => (float)(0.5 + (1.5 * random.NextDouble()))).ToArray(),
        _ => Enumerable.Range(0, count).OrderBy(_ => random.Next()).Select(k => (float)((k - (count / 2) + 0.5) * 0.05)).ToArray(),
    };

    public static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public static void AssertStandardOperators(GradientGraph graph)
    {
        foreach (var op in graph.OperatorTypes)
        {
            Assert.IsFalse(op.Contains('.'), $"generated graph uses non-standard operator {op}");
            Assert.IsFalse(op.EndsWith("Grad", StringComparison.Ordinal), $"generated graph uses training operator {op}");
        }
    }

    private static double Loss(GradientSession session, Dictionary<string, float[]> inputs, string name, float[] direction, double step, float[] cotangent)
    {
        var shifted = new Dictionary<string, float[]>(inputs) { [name] = inputs[name].Select((v, i) => (float)(v + (step * direction[i]))).ToArray() };
        var values = session.Run(shifted, cotangent).Values[session.Graph.OutputName];
        double loss = 0;
        for (int i = 0; i < values.Length; i++)
        {
            loss += (double)values[i] * cotangent[i];
        }

        return loss;
    }
}
