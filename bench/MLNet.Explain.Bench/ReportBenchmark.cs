using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Report;

namespace MLNet.Explain.Bench;

/// <summary>
/// <c>report</c>: the whole report for breast cancer (569 rows) with FastTree, as <c>mlnet-explain report</c> builds it:
/// every stage fitted by <see cref="ExplanationReport.Create"/>, three explained rows, index.html, explanations.json and
/// the SVG charts written to disk. Prints the median of the runs, the time per stage, and in the same run the anchor: one
/// scoring pass of the 569 rows through the model. Arguments: [runs (default 3)] [trees (default 100)] [leaves (default 20)].
/// </summary>
internal static class ReportBenchmark
{
    public static void Run(string[] args)
    {
        int runs = args.Length > 0 ? int.Parse(args[0]) : 3;
        int trees = args.Length > 1 ? int.Parse(args[1]) : 100;
        int leaves = args.Length > 2 ? int.Parse(args[2]) : 20;
        var ml = new MLContext(seed: 1);
        var header = File.ReadLines(DataPath).First().Split(',');
        var columns = header[..^1].Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column(header[^1], DataKind.Boolean, header.Length - 1)).ToArray();
        var data = ml.Data.LoadFromTextFile(DataPath, columns, separatorChar: ',', hasHeader: true);
        var model = ml.Transforms.Concatenate("Features", header[..^1])
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: header[^1], numberOfTrees: trees, numberOfLeaves: leaves))
            .Fit(data);
        var options = new ReportOptions { LabelColumn = header[^1], Rows = [0, 5, 17], DataSource = "breast_cancer.csv" };
        var folder = Path.Combine(Path.GetTempPath(), $"report-bench-{Environment.ProcessId}");

        double Anchor() => Time(() => _ = model.Transform(data).GetColumn<float>("Score").Sum());
        (double Total, Dictionary<string, double> Stages) Generate()
        {
            var stages = new Dictionary<string, double>();
            var watch = Stopwatch.StartNew();
            string? stage = null;
            double stageStart = 0;
            var progress = new StageTimer(p =>
            {
                if (p.Stage == stage) return;
                if (stage is not null) stages[stage] = stages.GetValueOrDefault(stage) + watch.Elapsed.TotalSeconds - stageStart;
                stage = p.Stage;
                stageStart = watch.Elapsed.TotalSeconds;
            });
            ExplanationReport.Create(ml, model, data, options, progress: progress).Save(folder);
            if (stage is not null) stages[stage] = stages.GetValueOrDefault(stage) + watch.Elapsed.TotalSeconds - stageStart;
            return (watch.Elapsed.TotalSeconds, stages);
        }

        Anchor();
        var warmUp = Generate();
        var measured = Enumerable.Range(0, runs).Select(_ => Generate()).OrderBy(r => r.Total).ToList();
        var median = measured[measured.Count / 2];
        var anchor = BenchHarness.Median(Enumerable.Range(0, 5).Select(_ => Anchor()));
        long bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        int files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count();
        Directory.Delete(folder, recursive: true);

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Machine.CpuName()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {Machine.LoadAverage()}");
        Console.WriteLine($"model: FastTree {trees} trees x {leaves} leaves on breast cancer (569 rows); report on the 569 rows, rows 0, 5, 17 explained");
        Console.WriteLine($"anchor: one scoring pass of the 569 rows: {anchor * 1000:F1} ms (median of 5)");
        Console.WriteLine($"report (Create + Save): median {median.Total:F2} s over {runs} runs ({string.Join(", ", measured.Select(r => r.Total.ToString("F2")))} s; warm-up {warmUp.Total:F2} s)");
        foreach (var (stage, seconds) in median.Stages)
            Console.WriteLine($"  {stage}: {seconds:F2} s");
        Console.WriteLine($"output: {files} files, {bytes / 1024} KiB");
        Console.WriteLine($"ratio report / anchor: {median.Total / anchor:F0}");
    }

    private sealed class StageTimer(Action<ReportProgress> report) : IProgress<ReportProgress>
    {
        public void Report(ReportProgress value) => report(value);
    }

    private static string DataPath => Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv");

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalSeconds;
    }
}
