using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Bench;

/// <summary>
/// Slot-level permutation importance of a FastTree binary classifier (100 trees, 20 leaves) on 20,000 rows x 30
/// features, 3 repeats: ours against ML.NET's PermutationFeatureImportance on the same model and data, measured in the
/// same process and interleaved, plus one ML.NET scoring pass for the lower bound features x repeats x pass / cores.
/// </summary>
internal static class PermutationImportanceBenchmark
{
    private const int Rows = 20_000, FeatureCount = 30, Repeats = 3;

    public static void Run(int runs)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(SyntheticData(ml));
        var watch = Stopwatch.StartNew();
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20).Fit(data);
        Console.WriteLine($"{Environment.ProcessorCount} cores; trained FastTree (100 trees, 20 leaves) on {Rows} x {FeatureCount} in {watch.Elapsed.TotalSeconds:F1} s");

        var measurements = new Dictionary<string, Func<object>>
        {
            ["one scoring pass (ML.NET Transform + read Score)"] = () => model.Transform(data).GetColumn<float>("Score").Sum(),
            ["ML.NET PermutationFeatureImportance"] = () => ml.BinaryClassification.PermutationFeatureImportance(model, data, permutationCount: Repeats),
            ["MLNet.Explain PermutationImportance"] = () => ml.Explain().PermutationImportance(new() { Repeats = Repeats, Seed = 1 }).Fit(model, data),
            ["MLNet.Explain PermutationImportance, 1 thread"] = () => ml.Explain().PermutationImportance(new() { Repeats = Repeats, Seed = 1, MaxDegreeOfParallelism = 1 }).Fit(model, data),
        };
        foreach (var measure in measurements.Values) measure(); // warm-up: JIT, caches
        // Wall time is the goal; process CPU time is reported too because it is far less sensitive to other load on the machine.
        var times = measurements.Keys.ToDictionary(name => name, _ => new List<double>());
        var cpuTimes = measurements.Keys.ToDictionary(name => name, _ => new List<double>());
        var process = Process.GetCurrentProcess();
        for (int run = 0; run < runs; run++)
            foreach (var (name, measure) in measurements)
            {
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                watch.Restart();
                measure();
                times[name].Add(watch.Elapsed.TotalMilliseconds);
                process.Refresh();
                cpuTimes[name].Add((process.TotalProcessorTime - cpu).TotalMilliseconds);
            }

        double Median(string name) => BenchHarness.Median(times[name]);
        double MedianCpu(string name) => BenchHarness.Median(cpuTimes[name]);
        foreach (var name in measurements.Keys)
            Console.WriteLine($"{name,-48} median {Median(name),9:F0} ms wall, {MedianCpu(name),9:F0} ms CPU   wall runs: {string.Join(", ", times[name].Select(t => t.ToString("F0")))}");
        double ours = Median("MLNet.Explain PermutationImportance"), theirs = Median("ML.NET PermutationFeatureImportance");
        double lowerBound = FeatureCount * Repeats * Median("one scoring pass (ML.NET Transform + read Score)") / Environment.ProcessorCount;
        Console.WriteLine($"ours / ML.NET = {ours / theirs:F3} wall (goal <= 0.4), {MedianCpu("MLNet.Explain PermutationImportance") / MedianCpu("ML.NET PermutationFeatureImportance"):F3} CPU");
        Console.WriteLine($"lower bound = {FeatureCount} x {Repeats} x pass / {Environment.ProcessorCount} cores = {lowerBound:F0} ms; ours / lower bound = {ours / lowerBound:F3}");
    }

    private sealed class Row
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    /// <summary>Uniform features; the label is a noisy logistic function of the first ten, with an interaction.</summary>
    private static IDataView SyntheticData(MLContext ml)
    {
        var random = new Random(42);
        var rows = new List<Row>(Rows);
        for (int i = 0; i < Rows; i++)
        {
            var x = new float[FeatureCount];
            for (int j = 0; j < FeatureCount; j++) x[j] = (float)(random.NextDouble() * 2 - 1);
            double z = 2 * x[0] * x[1] + Math.Sin(3 * x[2]);
            for (int j = 0; j < 10; j++) z += (j + 1) * 0.3 * x[j];
            rows.Add(new Row { Features = x, Label = random.NextDouble() < 1 / (1 + Math.Exp(-z)) });
        }
        return ml.Data.LoadFromEnumerable(rows);
    }
}
