namespace MLNet.Explain.Bench;

/// <summary>What every benchmark prints about the machine it ran on.</summary>
internal static class Machine
{
    public static string CpuName()
        => File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?" : "?";

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
