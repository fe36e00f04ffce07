using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Bench;

/// <summary>
/// Where the time of a forward+backward run goes: ONNX Runtime's profiler on the generated gradient graph and on the normalized forward
/// graph (same batch, same session options), kernel time summed per operator type and listed for the slowest nodes.
/// </summary>
internal static class GradientProfile
{
    public static void Run(string modelPath, int batch, int runs, int threads)
    {
        var model = OnnxGradientModel.Load(modelPath);
        var graph = model.BuildGraph(new GradientGraphOptions { BatchSize = batch });
        string input = model.InputNames[0];
        var shape = graph.Shapes[input];
        var random = new Random(1);
        var x = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)random.NextDouble()).ToArray();
        var cotangent = new float[graph.Shapes[graph.CotangentInputName].Aggregate(1L, (a, b) => a * b)];
        for (int row = 0; row < batch; row++)
        {
            cotangent[(row * cotangent.Length / batch) + row] = 1f;
        }

        string saved = Path.Combine(Path.GetTempPath(), "mlnet-explain-profile-gradient.onnx");
        graph.Save(saved);
        Console.WriteLine($"gradient graph written to {saved}");
        Report("forward", model.NormalizedForwardModel(batch), [(input, x, shape)], runs, threads);
        Report("forward+backward", graph.ToBytes(), [(input, x, shape), (graph.CotangentInputName, cotangent, graph.Shapes[graph.CotangentInputName])], runs, threads);
    }

    private static void Report(string label, byte[] modelBytes, (string Name, float[] Data, long[] Shape)[] inputs, int runs, int threads)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"mlnet-explain-profile-{Environment.ProcessId}-{label.Replace('+', '_')}");
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
        options.EnableProfiling = true;
        options.ProfileOutputPathPrefix = prefix;
        string file;
        using (var session = new InferenceSession(modelBytes, options))
        {
            for (int r = 0; r < runs + 1; r++)
            {
                var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToArray();
                using var outputs = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
                foreach (var v in values)
                {
                    v.Dispose();
                }
            }

            file = session.EndProfiling();
        }

        using var json = JsonDocument.Parse(File.ReadAllText(file));
        var nodes = json.RootElement.EnumerateArray()
            .Where(e => e.GetProperty("cat").GetString() == "Node" && e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal))
            .Select(e => (Node: e.GetProperty("name").GetString()![..^"_kernel_time".Length], Op: e.GetProperty("args").GetProperty("op_name").GetString()!, Us: e.GetProperty("dur").GetDouble()))
            .ToList();
        var sessionRuns = json.RootElement.EnumerateArray().Where(e => e.GetProperty("name").GetString() == "model_run").Select(e => e.GetProperty("dur").GetDouble() / 1000).ToList();
        double total = nodes.Sum(n => n.Us);
        Console.WriteLine($"== {label}: model_run ms per run (first is warm-up): {string.Join(", ", sessionRuns.Select(t => t.ToString("F0")))}; kernel time per run {total / (runs + 1) / 1000:F1} ms; load {Machine.LoadAverage()}");
        foreach (var op in nodes.GroupBy(n => n.Op).Select(grp => (Op: grp.Key, Us: grp.Sum(n => n.Us), Count: grp.Count() / (runs + 1))).OrderByDescending(o => o.Us).Take(15))
        {
            Console.WriteLine($"  {op.Op,-22} {op.Us / (runs + 1) / 1000,8:F1} ms/run  {op.Us / total,6:P1}  {op.Count} nodes");
        }

        double backward = nodes.Where(n => n.Node.StartsWith("grad/", StringComparison.Ordinal)).Sum(n => n.Us);
        Console.WriteLine($"  nodes of the backward graph (grad/...): {backward / (runs + 1) / 1000:F1} ms/run, the rest {(total - backward) / (runs + 1) / 1000:F1} ms/run");
        foreach (var node in nodes.GroupBy(n => n.Node).Select(grp => (Node: grp.Key, Op: grp.First().Op, Us: grp.Sum(n => n.Us))).OrderByDescending(o => o.Us).Take(60))
        {
            Console.WriteLine($"    {node.Op,-18} {node.Us / (runs + 1) / 1000,8:F1} ms/run  {node.Node}");
        }

        File.Delete(file);
    }
}
