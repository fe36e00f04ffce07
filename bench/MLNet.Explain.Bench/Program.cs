// Benchmarks, one entry per method: dotnet run -c Release --project bench/MLNet.Explain.Bench -- <name> [args]
// Each entry prints its results (machine, date, the anchor measured in the same run) for docs/benchmarks.md.
using MLNet.Explain.Bench;

var entries = new Dictionary<string, Action<string[]>>(StringComparer.OrdinalIgnoreCase)
{
    ["shap"] = ShapBench.Run,
};

if (args.Length == 0 || !entries.TryGetValue(args[0], out var entry))
{
    Console.Error.WriteLine($"usage: MLNet.Explain.Bench <{string.Join("|", entries.Keys)}> [args]");
    return 2;
}
entry(args[1..]);
return 0;
