using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Bench;

/// <summary>
/// TreeSHAP throughput against ML.NET's CalculateFeatureContribution on the same FastTree (100 trees, 20 leaves,
/// 30 features, 20,000 rows), measured in one run.
/// </summary>
internal static class ShapBench
{
    private const int Rows = 20_000, FeatureCount = 30, Rounds = 15;

    public static void Run(string[] args)
    {
        Console.WriteLine($"# SHAP benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"machine: {BenchHarness.MachineDescription()}; load average at start {Machine.LoadAverage()}");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(SyntheticRows(new Random(1))));
        var predictor = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 20).Fit(data);
        Console.WriteLine($"model: FastTree binary, 100 trees, 20 leaves, {FeatureCount} features; {Rows} rows explained (medians of {Rounds} interleaved rounds after a warm-up)");

        var scored = predictor.Transform(data);
        var fcc = ml.Transforms.CalculateFeatureContribution(predictor).Fit(scored);
        var shap = ml.Explain().Shap().Fit(predictor, data);
        // The algorithm alone, on feature vectors already in memory: separates its cost from the IDataView plumbing.
        var featureRows = predictor.Transform(data).GetColumn<float[]>("Features").ToArray();
        var shapValues = new double[featureRows.Length * FeatureCount];
        var shapOutputs = new double[featureRows.Length];
        var measured = new (string Name, Action Run)[]
        {
            ("scoring only", () => Drain(predictor.Transform(data), "Score")),
            ("CalculateFeatureContribution", () => Drain(fcc.Transform(predictor.Transform(data)), "FeatureContributions")),
            ("TreeSHAP (path-dependent, exact)", () => Drain(shap.Transform(data), ShapTransformer.ValuesColumn)),
            ("TreeSHAP algorithm alone (arrays)", () => shap.State.Method.Explain(featureRows, new int[featureRows.Length], shapValues, shapOutputs)),
        };
        // This machine's speed drifts by ±20% within seconds (a shared VM), so the four are measured in interleaved
        // rounds: each round times each once, back to back, each from a collected heap, and the ratio is taken within
        // rounds.
        foreach (var (_, run) in measured) run();
        var rounds = Enumerable.Range(0, Rounds).Select(_ => measured.Select(m => BenchHarness.Once(m.Run)).ToArray()).ToArray();
        for (int i = 0; i < measured.Length; i++)
            Report(measured[i].Name, BenchHarness.Median(rounds.Select(r => r[i].WallSeconds)), BenchHarness.Median(rounds.Select(r => r[i].CpuSeconds)));
        var wallRatios = rounds.Select(r => r[1].WallSeconds / r[2].WallSeconds).ToArray();
        var cpuRatios = rounds.Select(r => r[1].CpuSeconds / r[2].CpuSeconds).ToArray();
        Console.WriteLine($"TreeSHAP / FCC, median of {Rounds} rounds: {BenchHarness.Median(wallRatios):0.00}x wall-clock, {BenchHarness.Median(cpuRatios):0.00}x per CPU second");
        Console.WriteLine($"  per round (wall): {string.Join(" ", wallRatios.Select(x => x.ToString("0.00")))}");

        // Kernel SHAP: its time per row against scoring nsamples x background rows through the same predictor.
        const int explainedRows = 4;
        var kernel = ml.Explain().Shap(new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, Seed = 1 }).Fit(predictor, data);
        var method = (KernelShap)kernel.State.Method;
        int samples = 2 * FeatureCount + 2048, evaluations = samples * method.Background.Count;
        var sample = ml.Data.TakeRows(data, explainedRows);
        var kernelTime = BenchHarness.Best(() => Drain(kernel.Transform(sample), ShapTransformer.ValuesColumn), warmups: 1, repeats: 2);
        var parts = ModelParts.Of(predictor, data.Schema);
        var scorer = new FeatureScorer(parts);
        var rows = predictor.Transform(data).GetColumn<float[]>("Features").Take(4096).ToArray();
        var matrix = new float[evaluations * FeatureCount];
        for (int i = 0; i < evaluations; i++) rows[i % rows.Length].CopyTo(matrix, i * FeatureCount);
        var scores = new float[evaluations];
        var anchor = BenchHarness.Best(() => scorer.Score(matrix, scores), warmups: 1, repeats: 2);
        Console.WriteLine($"Kernel SHAP: nsamples {samples} x background {method.Background.Count} = {evaluations:N0} evaluations per row");
        Console.WriteLine($"  per row {kernelTime.WallSeconds / explainedRows:0.000} s wall, {kernelTime.CpuSeconds / explainedRows:0.000} CPU s; scoring {evaluations:N0} rows {anchor.WallSeconds:0.000} s wall, {anchor.CpuSeconds:0.000} CPU s");
        Console.WriteLine($"  Kernel SHAP / model evaluations: {kernelTime.CpuSeconds / explainedRows / anchor.CpuSeconds:0.00} (CPU time), {kernelTime.WallSeconds * Environment.ProcessorCount / explainedRows / anchor.WallSeconds:0.00} (wall x {Environment.ProcessorCount} cores, rows run in parallel)");
        Console.WriteLine($"load average at end {Machine.LoadAverage()}");
    }

    private static void Report(string name, double wallSeconds, double cpuSeconds)
        => Console.WriteLine($"{name,-34} {Rows / wallSeconds,10:N0} rows/s   {Rows / cpuSeconds,10:N0} rows per CPU second");

    private static void Drain(IDataView view, string column)
    {
        var col = view.Schema[column];
        using var cursor = view.GetRowCursor([col]);
        if (col.Type is VectorDataViewType)
        {
            var getter = cursor.GetGetter<VBuffer<float>>(col);
            VBuffer<float> value = default;
            while (cursor.MoveNext()) getter(ref value);
        }
        else
        {
            var getter = cursor.GetGetter<float>(col);
            float value = 0;
            while (cursor.MoveNext()) getter(ref value);
        }
    }

    private static IEnumerable<Row> SyntheticRows(Random random)
    {
        for (int i = 0; i < Rows; i++)
        {
            var x = new float[FeatureCount];
            for (int j = 0; j < FeatureCount; j++) x[j] = (float)(random.NextDouble() * 2 - 1);
            double logit = 2 * x[0] - 1.5 * x[1] * x[2] + Math.Sin(3 * x[3]) + (x[4] > 0.3 ? 1 : -1) + 0.5 * x[5] * x[5] + random.NextDouble() - 0.5;
            yield return new Row { Features = x, Label = logit > 0 };
        }
    }

    private sealed class Row
    {
        [VectorType(FeatureCount)] public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }
}
