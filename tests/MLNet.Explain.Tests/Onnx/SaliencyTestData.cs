using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx.Saliency;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>Data views holding model inputs (and targets, upstream gradients) for the saliency stages, and helpers to read and compare their outputs.</summary>
internal static class SaliencyTestData
{
    public sealed class Row
    {
        public float[] input = [];
        public long target;
        public float[] upstream = [];
    }

    /// <summary>Rows of <paramref name="inputs"/> (row-major, row shape <paramref name="shape"/>) with per-row targets and upstream gradients.</summary>
    public static IDataView Data(MLContext ml, float[] inputs, int[] shape, long[]? targets = null, float[]? upstream = null, int upstreamSize = 1)
    {
        int size = shape.Aggregate(1, (a, b) => a * b);
        int rows = inputs.Length / size;
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, shape);
        definition[nameof(Row.upstream)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, upstreamSize);
        var data = Enumerable.Range(0, rows).Select(r => new Row
        {
            input = inputs[(r * size)..((r + 1) * size)],
            target = targets?[r] ?? 0,
            upstream = upstream?[(r * upstreamSize)..((r + 1) * upstreamSize)] ?? new float[upstreamSize],
        }).ToList();
        return ml.Data.LoadFromEnumerable(data, definition);
    }

    /// <summary>The data of a test model's reference rows, targets from targets.npy.</summary>
    public static IDataView ReferenceData(MLContext ml, TestModel model)
    {
        var input = model.Reference("input");
        return Data(ml, input.Data, input.Shape[1..].Select(d => (int)d).ToArray(), model.Targets().Data);
    }

    /// <summary>Rows of tests/data/digits.csv scaled like the digits CNN's training data (pixels / 16), as [1, 8, 8] inputs.</summary>
    public static IDataView DigitsRows(MLContext ml, int count)
    {
        var lines = File.ReadLines(TestData.PathOf("digits.csv")).Skip(1).Take(count);
        var pixels = lines.SelectMany(l => l.Split(',').Take(64).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture) / 16)).ToArray();
        return Data(ml, pixels, [1, 8, 8]);
    }

    /// <summary>An empty pipeline: the data already holds the model input (an ApplyOnnxModel pipeline passes it through the same way).</summary>
    public static ITransformer NoPipeline => new TransformerChain<ITransformer>();

    public static SaliencyTransformer Fit(SaliencyEstimator stage, IDataView data) => stage.Fit(NoPipeline, data);

    /// <summary>A vector column of every row, concatenated.</summary>
    public static float[] Column(SaliencyTransformer stage, IDataView data, string name)
        => stage.Transform(data).GetColumn<float[]>(name).SelectMany(v => v).ToArray();

    public static float[] Scalars(SaliencyTransformer stage, IDataView data, string name)
        => stage.Transform(data).GetColumn<float>(name).ToArray();

    /// <summary>The explained output of the stage's prepared model at each input (forward passes of its own ONNX Runtime session).</summary>
    public static float[][] Forward(SaliencyTransformer stage, IReadOnlyList<float[]> inputs)
    {
        var outputs = new float[inputs.Count][];
        stage.OnnxModel.Forward(inputs.Count, (r, x) => inputs[r].CopyTo(x), (r, y) => outputs[r] = y.ToArray());
        return outputs;
    }

    public static float[] Forward(SaliencyTransformer stage, float[] input) => Forward(stage, [input])[0];

    public static double RelativeL2(float[] actual, float[] expected)
    {
        Assert.HasCount(expected.Length, actual);
        double difference = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(actual[i] - (double)expected[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(difference / norm);
    }

    public static void AssertClose(float[] actual, float[] expected, double tolerance, string what)
    {
        double error = RelativeL2(actual, expected);
        Console.WriteLine($"{what}: relative L2 error {error:G3}");
        Assert.IsTrue(error <= tolerance, $"{what}: relative L2 error {error:G3} > {tolerance:G3}");
    }

    /// <summary>Spearman rank correlation (average ranks for ties).</summary>
    public static double Spearman(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return sab / Math.Sqrt(saa * sbb);
    }

    private static double[] Ranks(ReadOnlySpan<float> values)
    {
        var order = Enumerable.Range(0, values.Length).ToArray();
        var copy = values.ToArray();
        Array.Sort(order, (i, j) => copy[i].CompareTo(copy[j]));
        var ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && copy[order[end + 1]] == copy[order[start]]) end++;
            for (int k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0;
            start = end + 1;
        }
        return ranks;
    }
}
