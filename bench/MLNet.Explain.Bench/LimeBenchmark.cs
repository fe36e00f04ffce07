using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Bench;

/// <summary>
/// <c>lime</c>: LIME on breast cancer with FastTree at the default 5,000 samples per row. Measures, in one run, the time
/// per explained row and the anchor: the time to score 5,000 rows through the same model (one cursor, as a user scores
/// a data set), interleaved in rounds so both see the same machine load. Also reports the mean LimeScore (weighted R²
/// of the surrogates) over the test rows.
/// Arguments: [trees (default 100)] [leaves (default 20)] [rows to explain (default: the whole test split)].
/// </summary>
internal static class LimeBenchmark
{
    public static void Run(string[] args)
    {
        int trees = args.Length > 0 ? int.Parse(args[0]) : 100;
        int leaves = args.Length > 1 ? int.Parse(args[1]) : 20;
        var ml = new MLContext(seed: 1);
        var header = File.ReadLines(DataPath).First().Split(',');
        var columns = header[..^1].Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column(header[^1], DataKind.Boolean, header.Length - 1)).ToArray();
        var all = ml.Data.Cache(ml.Data.LoadFromTextFile(DataPath, columns, separatorChar: ',', hasHeader: true));
        var split = ml.Data.TrainTestSplit(all, testFraction: 0.2, seed: 1);
        var model = ml.Transforms.Concatenate("Features", header[..^1])
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: header[^1], numberOfTrees: trees, numberOfLeaves: leaves))
            .Fit(split.TrainSet);
        var lime = ml.Explain().Lime(new LimeOptions { Seed = 1 }).Fit(model, split.TrainSet);
        var test = ml.Data.Cache(args.Length > 2 ? ml.Data.TakeRows(split.TestSet, int.Parse(args[2])) : split.TestSet);
        int testRows = test.GetColumn<float>(header[0]).Count();

        // 5,000 rows to score: the data set's rows repeated, cached in memory so reading them costs (almost) nothing.
        var lines = File.ReadLines(DataPath).Skip(1).ToArray();
        var anchorFile = Path.Combine(Path.GetTempPath(), $"lime-bench-{Environment.ProcessId}.csv");
        File.WriteAllLines(anchorFile, Enumerable.Range(0, 5000).Select(i => lines[i % lines.Length]).Prepend(string.Join(",", header)));
        var rows = ml.Data.Cache(ml.Data.LoadFromTextFile(anchorFile, columns, separatorChar: ',', hasHeader: true));

        var anchorCpu = new List<double>();
        double ScoreAnchor()
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            double seconds = Time(() => SumProbabilities(model.Transform(rows)));
            anchorCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
            return seconds;
        }
        double explainCpu = 0;
        double ExplainAll(IDataView data)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            double seconds = Time(() => _ = lime.Transform(data).GetColumn<float[]>("LimeWeights").Count());
            explainCpu += (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            return seconds;
        }

        // Warm-up: JIT (tiered compilation needs many calls) and ML.NET's lazy initialization, for both paths.
        for (int i = 0; i < 10; i++) ScoreAnchor();
        // Explaining every test row once lets tiered JIT reach its optimized code (8 rows were not enough: the first
        // measured rounds ran up to 2x slower than the last ones).
        ExplainAll(test);

        explainCpu = 0;
        anchorCpu.Clear();
        // Interleaved rounds, so both measurements see the same machine state: the anchor, then a slice of the test rows.
        const int rounds = 5;
        int perRound = (testRows + rounds - 1) / rounds;
        var anchors = new List<double>();
        var perRowTimes = new List<double>();
        double explainSeconds = 0;
        for (int round = 0; round < rounds; round++)
        {
            anchors.Add(ScoreAnchor());
            int count = Math.Min(perRound, testRows - round * perRound);
            if (count <= 0) break;
            var slice = round == 0 ? test : ml.Data.SkipRows(test, round * perRound);
            double seconds = ExplainAll(ml.Data.TakeRows(slice, count));
            explainSeconds += seconds;
            perRowTimes.Add(seconds / count);
        }
        anchors.Add(ScoreAnchor());
        var ratios = perRowTimes.Select((t, i) => t / ((anchors[i] + anchors[i + 1]) / 2)).Order().ToArray();
        double anchorMedian = BenchHarness.Median(anchors);
        double perRow = explainSeconds / testRows;
        double meanScore = lime.Transform(test).GetColumn<float>("LimeScore").Average();

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Machine.CpuName()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {Machine.LoadAverage()}");
        Console.WriteLine($"model: FastTree {trees} trees x {leaves} leaves on breast cancer (train 80%), LIME defaults (5000 samples, quartiles, 10 features)");
        Console.WriteLine($"anchor: score 5000 rows through the model (one cursor): median {anchorMedian * 1000:F1} ms (runs: {string.Join(", ", anchors.Select(t => (t * 1000).ToString("F1")))})");
        Console.WriteLine($"lime: {testRows} test rows in {explainSeconds:F2} s = {perRow * 1000:F1} ms per row, {testRows / explainSeconds:F1} rows/s (rounds: {string.Join(", ", perRowTimes.Select(t => (t * 1000).ToString("F1")))} ms per row)");
        double anchorCpuMedian = BenchHarness.Median(anchorCpu);
        double cpuPerRow = explainCpu / testRows;
        Console.WriteLine($"CPU time: lime {cpuPerRow * 1000:F1} ms per row (all threads), anchor median {anchorCpuMedian * 1000:F1} ms");
        Console.WriteLine($"from CPU time, for {Environment.ProcessorCount} otherwise idle cores: {Environment.ProcessorCount / cpuPerRow:F0} rows/s, ratio {cpuPerRow / Environment.ProcessorCount / anchorCpuMedian:F2}");
        Console.WriteLine($"ratio (time per explained row / anchor of the same round): median {ratios[ratios.Length / 2]:F2} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("F2")))})");
        Console.WriteLine($"mean LimeScore over the test rows: {meanScore:F3}");
        File.Delete(anchorFile);
    }

    /// <summary>Reads the scored rows with one cursor, as an application consuming predictions does.</summary>
    private static float SumProbabilities(IDataView scored)
    {
        var column = scored.Schema["Probability"];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<float>(column);
        float value = 0, sum = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            sum += value;
        }
        return sum;
    }

    private static string DataPath => Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv");

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalSeconds;
    }


}
