using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;

namespace MLNet.Explain.Bench;

/// <summary>
/// <c>saliency</c>: Integrated Gradients (50 Gauss–Legendre steps) on ResNet18 for one 224x224 image against its anchor, 50 rows of
/// forward+backward through the same gradient graph at the same batch size; occlusion throughput in model evaluations per second; and the
/// peak memory of IG with 50 and 200 steps at internal batch sizes 8 and 32, each measured in a fresh process (<c>saliency-memory</c>)
/// because a process's peak working set only grows.
/// </summary>
internal static class SaliencyBench
{
    private static string ResNet => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    public static void Run(string[] args)
    {
        int batch = args.Length > 0 ? int.Parse(args[0]) : 10;
        int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
        Console.WriteLine($"saliency bench: ResNet18 (CNTK opset 8, batch rewritten to {batch}), one 224x224 image, CPU {Machine.CpuName()}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {Machine.LoadAverage()}");
        var (ml, data, pixels) = Image();

        // Anchor: 50 rows of forward+backward through the gradient graph at the same batch size.
        using var session = OnnxGradientModel.Load(ResNet).CreateSession(new GradientGraphOptions { BatchSize = batch });
        var rows = Enumerable.Range(0, 50).SelectMany(_ => pixels).ToArray();
        var cotangent = session.OneHotCotangent(Enumerable.Repeat(7L, 50).ToArray());
        session.Run(rows, cotangent);

        using var ig = IntegratedGradients(ml, data, batch, 50);
        Explain(ig, data, "IntegratedGradients");
        // Interleaved, so both see the same machine load.
        var anchorTimes = new List<double>();
        var igTimes = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            anchorTimes.Add(Time(() => session.Run(rows, cotangent)));
            igTimes.Add(Time(() => Explain(ig, data, "IntegratedGradients")));
        }
        double anchor = BenchHarness.Median(anchorTimes), integrated = BenchHarness.Median(igTimes);
        Console.WriteLine($"IG 50 steps: {integrated:F0} ms (runs {string.Join(", ", igTimes.Select(t => t.ToString("F0")))}); 50 x forward+backward at batch {batch}: {anchor:F0} ms (runs {string.Join(", ", anchorTimes.Select(t => t.ToString("F0")))}); ratio {integrated / anchor:F3} (goal <= 1.2); load average {Machine.LoadAverage()}");

        using var occlusion = ml.Explain().Occlusion(new OcclusionOptions { ModelPath = ResNet, BatchSize = batch, WindowHeight = 32, WindowWidth = 32, StrideHeight = 16, StrideWidth = 16, Target = SaliencyTarget.Index(7) }).Fit(new TransformerChain<ITransformer>(), data);
        int evaluations = 0;
        occlusion.OnnxModel.RunObserver = n => evaluations += n;
        Explain(occlusion, data, "Occlusion");
        evaluations = 0;
        double occluded = Time(() => Explain(occlusion, data, "Occlusion"));
        Console.WriteLine($"Occlusion (32x32 window, stride 16): {evaluations} model evaluations in {occluded:F0} ms = {evaluations / (occluded / 1000):F1} evaluations/s at batch {batch}; load average {Machine.LoadAverage()}");

        foreach (int internalBatch in new[] { 8, 32 })
            foreach (int steps in new[] { 50, 200 })
            {
                // Under `dotnet MLNet.Explain.Bench.dll` the process is the dotnet host, which needs the assembly path first.
                string host = Environment.ProcessPath!;
                string[] assembly = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [typeof(SaliencyBench).Assembly.Location] : [];
                var child = Process.Start(new ProcessStartInfo(host, [.. assembly, "saliency-memory", internalBatch.ToString(), steps.ToString()]) { RedirectStandardOutput = true })!;
                Console.Write(child.StandardOutput.ReadToEnd());
                child.WaitForExit();
            }
    }

    /// <summary>
    /// One IG configuration in this (fresh) process: the peak resident set of the first explanation (which also builds the gradient graph and
    /// session) and, after resetting the peak (Linux /proc/self/clear_refs), of a second one: the memory an explanation itself needs.
    /// </summary>
    public static void Memory(string[] args)
    {
        int batch = int.Parse(args[0]), steps = int.Parse(args[1]);
        var (ml, data, _) = Image();
        using var ig = IntegratedGradients(ml, data, batch, steps);
        int runs = 0, maxRows = 0;
        ig.OnnxModel.RunObserver = n => { runs++; maxRows = Math.Max(maxRows, n); };
        long before = PeakResidentMegabytes();
        Explain(ig, data, "IntegratedGradients");
        long first = PeakResidentMegabytes();
        File.WriteAllText("/proc/self/clear_refs", "5");
        long afterReset = PeakResidentMegabytes();
        runs = 0;
        var watch = Stopwatch.StartNew();
        Explain(ig, data, "IntegratedGradients");
        long second = PeakResidentMegabytes();
        Console.WriteLine($"IG internal batch {batch,2}, {steps,3} steps: {runs} runs of at most {maxRows} rows, {watch.ElapsedMilliseconds} ms; peak RSS {before} MB before, {first} MB after the first explanation (builds the session), {second} MB during a second one (peak reset to {afterReset} MB before it); load average {Machine.LoadAverage()}");
    }

    private static long PeakResidentMegabytes()
        => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;

    private static (MLContext, IDataView, float[]) Image()
    {
        var pixels = ImageTensor.Load(Path.Combine(AppContext.BaseDirectory, "images", "flower.jpg"), ImageTensorOptions.ImageNet(224));
        var ml = new MLContext(seed: 1);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, 224, 224);
        return (ml, ml.Data.LoadFromEnumerable(new[] { new Row { input = pixels } }, definition), pixels);
    }

    private static SaliencyTransformer IntegratedGradients(MLContext ml, IDataView data, int batch, int steps)
        => ml.Explain().IntegratedGradients(new IntegratedGradientsOptions { ModelPath = ResNet, BatchSize = batch, Steps = steps, Target = SaliencyTarget.Index(7) }).Fit(new TransformerChain<ITransformer>(), data);

    private static float[] Explain(SaliencyTransformer stage, IDataView data, string column) => stage.Transform(data).GetColumn<float[]>(column).First();

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalMilliseconds;
    }

    public sealed class Row
    {
        public float[] input = [];
    }
}
