using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MLNet.Explain.Bench;

/// <summary>One timed run: wall-clock seconds and the CPU seconds the process used (all threads).</summary>
internal readonly record struct Timing(double WallSeconds, double CpuSeconds);

/// <summary>
/// Plain Stopwatch measurements: warm-up runs first, then the best of the timed runs. CPU time is recorded too: on a
/// shared machine wall-clock throughput depends on the other load, while work per CPU second compares methods fairly.
/// </summary>
internal static class BenchHarness
{
    public static Timing Best(Action run, int warmups = 1, int repeats = 3)
    {
        for (int i = 0; i < warmups; i++) run();
        var best = new Timing(double.PositiveInfinity, double.PositiveInfinity);
        using var process = Process.GetCurrentProcess();
        for (int i = 0; i < repeats; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            run();
            double wall = watch.Elapsed.TotalSeconds;
            process.Refresh();
            double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
            best = new Timing(Math.Min(best.WallSeconds, wall), Math.Min(best.CpuSeconds, cpuSeconds));
        }
        return best;
    }

    /// <summary>
    /// One timed run that starts from a collected heap (as BenchmarkDotNet does between iterations), so a measurement
    /// does not pay for the garbage of the one before it.
    /// </summary>
    public static Timing Once(Action run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Best(run, warmups: 0, repeats: 1);
    }

    /// <summary>The middle value (the upper of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    public static string MachineDescription()
        => $"{RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, .NET {Environment.Version}, {Machine.CpuName()}";
}
