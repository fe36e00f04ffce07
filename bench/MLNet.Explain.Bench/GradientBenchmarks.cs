using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Bench;

/// <summary>
/// Gradient engine benchmarks (docs/benchmarks.md): forward+backward over forward at one batch size, and batched forward throughput against
/// ML.NET's ApplyOnnxModel (one row per run). Plain stopwatch harness: warm-up runs, then the median of timed runs.
/// </summary>
internal static class GradientBenchmarks
{
    public static void BackwardOverForward(string modelPath, int batch, int runs)
    {
        var model = OnnxGradientModel.Load(modelPath);
        using var gradient = model.CreateSession(new GradientGraphOptions { BatchSize = batch });
        using var forward = new InferenceSession(model.NormalizedForwardModel(batch));
        string input = model.InputNames[0];
        var random = new Random(1);
        var x = Enumerable.Range(0, (int)(batch * gradient.RowSize(input))).Select(_ => (float)random.NextDouble()).ToArray();
        var cotangent = gradient.OneHotCotangent(Enumerable.Range(0, batch).Select(i => (long)i).ToArray());
        var shape = gradient.Graph.Shapes[input];
        double Forward()
        {
            using var value = OrtValue.CreateTensorValueFromMemory(x, shape);
            var sw = Stopwatch.StartNew();
            using var outputs = forward.Run(new RunOptions(), [input], [value], forward.OutputNames);
            return sw.Elapsed.TotalMilliseconds;
        }

        double Both()
        {
            var sw = Stopwatch.StartNew();
            gradient.Run(x, cotangent);
            return sw.Elapsed.TotalMilliseconds;
        }

        double f = Median(Forward, runs);
        double b = Median(Both, runs);
        Console.WriteLine($"{Path.GetFileName(modelPath)} batch {batch}: forward {f:F1} ms, forward+backward {b:F1} ms, ratio {b / f:F2}");
    }

    private sealed class InputRow
    {
        [VectorType(30)]
        [ColumnName("input")]
        public float[] Input { get; set; } = new float[30];
    }

    /// <summary>Rows per second: ML.NET ApplyOnnxModel (it runs one row per ONNX Runtime call) against one batched InferenceSession run.</summary>
    public static void ForwardThroughput(string modelPath, int rows, int rowSize, string outputName, int runs)
    {
        var random = new Random(2);
        var data = Enumerable.Range(0, rows).Select(_ => new InputRow { Input = Enumerable.Range(0, rowSize).Select(_ => (float)random.NextDouble()).ToArray() }).ToArray();
        var ml = new MLContext(seed: 0);
        var schema = SchemaDefinition.Create(typeof(InputRow));
        schema["input"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, rowSize);
        var view = ml.Data.LoadFromEnumerable(data, schema);
        var transformer = ml.Transforms.ApplyOnnxModel([outputName], ["input"], modelPath).Fit(view);
        double MlNet()
        {
            var sw = Stopwatch.StartNew();
            var scored = transformer.Transform(view);
            foreach (var _ in scored.GetColumn<float[]>(outputName))
            {
            }

            return sw.Elapsed.TotalMilliseconds;
        }

        var flat = data.SelectMany(r => r.Input).ToArray();
        using var session = new InferenceSession(modelPath);
        double Batched()
        {
            var sw = Stopwatch.StartNew();
            using var value = OrtValue.CreateTensorValueFromMemory(flat, [rows, rowSize]);
            using var outputs = session.Run(new RunOptions(), ["input"], [value], [outputName]);
            _ = outputs[0].GetTensorDataAsSpan<float>()[0];
            return sw.Elapsed.TotalMilliseconds;
        }

        double a = Median(MlNet, runs);
        double b = Median(Batched, runs);
        Console.WriteLine($"{Path.GetFileName(modelPath)} {rows} rows: ApplyOnnxModel {a:F1} ms ({rows / a * 1000:F0} rows/s), batched ORT {b:F1} ms ({rows / b * 1000:F0} rows/s), speed-up {a / b:F2}x");
    }

    private static double Median(Func<double> measure, int runs)
    {
        measure();
        measure();
        var times = Enumerable.Range(0, runs).Select(_ => measure()).Order().ToArray();
        return times[runs / 2];
    }
}
