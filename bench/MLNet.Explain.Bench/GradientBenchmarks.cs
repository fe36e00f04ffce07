using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Bench;

/// <summary>
/// Gradient engine benchmarks (docs/benchmarks.md): forward+backward over forward at one batch size, and batched forward throughput against
/// ML.NET's ApplyOnnxModel (one row per run). Plain stopwatch harness: warm-up runs, then the median of timed runs.
/// </summary>
internal static class GradientBenchmarks
{
    /// <summary>
    /// Forward+backward (<see cref="GradientSession.Run(float[], float[])"/>, one-hot cotangent) against a forward run of the normalized forward
    /// graph, same batch, same session options (all graph optimizations, <paramref name="threads"/> intra-op threads). The two are timed
    /// alternately, so a change in the machine's load hits both; medians of wall and process CPU time are printed.
    /// </summary>
    public static void BackwardOverForward(string modelPath, int batch, int runs, int threads)
    {
        Console.WriteLine($"gradients: {Path.GetFileName(modelPath)}, batch {batch}, {threads} intra-op threads, {runs} runs after 2 warm-ups; {BenchHarness.MachineDescription()}; load {Machine.LoadAverage()}");
        var model = OnnxGradientModel.Load(modelPath);
        using var gradient = model.CreateSession(new GradientGraphOptions { BatchSize = batch }, new GradientSessionOptions { IntraOpThreads = threads });
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
        using var forward = new InferenceSession(model.NormalizedForwardModel(batch), sessionOptions);
        string input = model.InputNames[0];
        var random = new Random(1);
        var x = Enumerable.Range(0, (int)(batch * gradient.RowSize(input))).Select(_ => (float)random.NextDouble()).ToArray();
        var cotangent = gradient.OneHotCotangent(Enumerable.Range(0, batch).Select(i => (long)i).ToArray());
        var shape = gradient.Graph.Shapes[input];
        void Forward()
        {
            using var value = OrtValue.CreateTensorValueFromMemory(x, shape);
            using var runOptions = new RunOptions();
            using var outputs = forward.Run(runOptions, [input], [value], forward.OutputNames);
        }

        var forwardTimes = new List<Timing>();
        var bothTimes = new List<Timing>();
        for (int i = 0; i < runs + 2; i++)
        {
            var f = BenchHarness.Best(Forward, warmups: 0, repeats: 1);
            var b = BenchHarness.Best(() => gradient.Run(x, cotangent), warmups: 0, repeats: 1);
            if (i >= 2)
            {
                forwardTimes.Add(f);
                bothTimes.Add(b);
            }
        }

        var (fw, fc) = (BenchHarness.Median(forwardTimes.Select(t => t.WallSeconds * 1000)), BenchHarness.Median(forwardTimes.Select(t => t.CpuSeconds * 1000)));
        var (bw, bc) = (BenchHarness.Median(bothTimes.Select(t => t.WallSeconds * 1000)), BenchHarness.Median(bothTimes.Select(t => t.CpuSeconds * 1000)));
        Console.WriteLine($"  forward: {fw:F1} ms wall, {fc:F1} ms CPU (runs: {string.Join(", ", forwardTimes.Select(t => (t.WallSeconds * 1000).ToString("F0")))})");
        Console.WriteLine($"  forward+backward: {bw:F1} ms wall, {bc:F1} ms CPU (runs: {string.Join(", ", bothTimes.Select(t => (t.WallSeconds * 1000).ToString("F0")))})");
        Console.WriteLine($"  forward+backward / forward: {bw / fw:F2} wall, {bc / fc:F2} CPU; median of per-pair ratios {BenchHarness.Median(forwardTimes.Zip(bothTimes, (f, b) => b.WallSeconds / f.WallSeconds)):F2}; load {Machine.LoadAverage()}");
    }

    private sealed class InputRow
    {
        [VectorType(30)]
        [ColumnName("input")]
        public float[] Input { get; set; } = new float[30];
    }

    /// <summary>
    /// Rows per second of the forward pass: ML.NET's ApplyOnnxModel (it runs one row per ONNX Runtime call) against batched InferenceSession runs
    /// of <paramref name="batch"/> rows (default: all rows in one run), both with <paramref name="threads"/> intra-op threads.
    /// </summary>
    public static void ForwardThroughput(string modelPath, int rows, int rowSize, string outputName, int runs, int batch, int threads)
    {
        Console.WriteLine($"throughput: {Path.GetFileName(modelPath)}, {rows} rows, batch {batch}, {threads} intra-op threads, median of {runs}; load {Machine.LoadAverage()}");
        var random = new Random(2);
        var data = Enumerable.Range(0, rows).Select(_ => new InputRow { Input = Enumerable.Range(0, rowSize).Select(_ => (float)random.NextDouble()).ToArray() }).ToArray();
        var ml = new MLContext(seed: 0);
        var schema = SchemaDefinition.Create(typeof(InputRow));
        schema["input"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, rowSize);
        var view = ml.Data.LoadFromEnumerable(data, schema);
        var onnxOptions = new OnnxOptions { ModelFile = modelPath, InputColumns = ["input"], OutputColumns = [outputName], IntraOpNumThreads = threads };
        var transformer = ml.Transforms.ApplyOnnxModel(onnxOptions).Fit(view);
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
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
        using var session = new InferenceSession(modelPath, sessionOptions);
        var rowShape = session.InputMetadata["input"].Dimensions[1..].Select(d => (long)d).ToArray();
        double Batched()
        {
            var sw = Stopwatch.StartNew();
            for (int start = 0; start < rows; start += batch)
            {
                int count = Math.Min(batch, rows - start);
                using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(flat, start * rowSize, count * rowSize), [count, .. rowShape]);
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, ["input"], [value], [outputName]);
                _ = outputs[0].GetTensorDataAsSpan<float>()[0];
            }

            return sw.Elapsed.TotalMilliseconds;
        }

        double a = Median(MlNet, runs);
        double b = Median(Batched, runs);
        Console.WriteLine($"  ApplyOnnxModel {a:F1} ms ({rows / a * 1000:F1} rows/s), batched ORT {b:F1} ms ({rows / b * 1000:F1} rows/s), speed-up {a / b:F2}x; load {Machine.LoadAverage()}");
    }

    private static double Median(Func<double> measure, int runs)
    {
        measure();
        measure();
        return BenchHarness.Median(Enumerable.Range(0, runs).Select(_ => measure()));
    }
}
