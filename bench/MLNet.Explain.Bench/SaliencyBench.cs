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
/// peak working set of IG with 50 and then 200 steps (bounded by the batch size, not the step count).
/// </summary>
internal static class SaliencyBench
{
    public static void Run(string[] args)
    {
        int batch = args.Length > 0 ? int.Parse(args[0]) : 10;
        int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
        string resnet = Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        string image = Path.Combine(AppContext.BaseDirectory, "images", "flower.jpg");
        var pixels = ImageTensor.Load(image, ImageTensorOptions.ImageNet(224));
        Console.WriteLine($"saliency bench: ResNet18 (CNTK opset 8, batch rewritten to {batch}), one 224x224 image, CPU, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");

        var ml = new MLContext(seed: 1);
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, 224, 224);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { input = pixels } }, definition);

        // Anchor: 50 rows of forward+backward through the gradient graph at the same batch size.
        using var session = OnnxGradientModel.Load(resnet).CreateSession(new GradientGraphOptions { BatchSize = batch });
        var rows = Enumerable.Range(0, 50).SelectMany(_ => pixels).ToArray();
        var cotangent = session.OneHotCotangent(Enumerable.Repeat(7L, 50).ToArray());
        session.Run(rows, cotangent);
        double anchor = Median(repeats, () => session.Run(rows, cotangent));

        using var ig = ml.Explain().IntegratedGradients(new IntegratedGradientsOptions { ModelPath = resnet, BatchSize = batch, Target = SaliencyTarget.Index(7) }).Fit(new TransformerChain<ITransformer>(), data);
        float[] Explain(SaliencyTransformer stage, string column) => stage.Transform(data).GetColumn<float[]>(column).First();
        Explain(ig, "IntegratedGradients");
        double integrated = Median(repeats, () => Explain(ig, "IntegratedGradients"));
        Console.WriteLine($"IG 50 steps: {integrated:F0} ms; 50 x forward+backward at batch {batch}: {anchor:F0} ms; ratio {integrated / anchor:F2} (goal <= 1.2)");
        long peak50 = Process.GetCurrentProcess().PeakWorkingSet64;

        using var ig200 = ml.Explain().IntegratedGradients(new IntegratedGradientsOptions { ModelPath = resnet, BatchSize = batch, Steps = 200, Target = SaliencyTarget.Index(7) }).Fit(new TransformerChain<ITransformer>(), data);
        int maxRows = 0, runs = 0;
        ig200.OnnxModel.RunObserver = n => { maxRows = Math.Max(maxRows, n); runs++; };
        var watch = Stopwatch.StartNew();
        Explain(ig200, "IntegratedGradients");
        Console.WriteLine($"IG 200 steps: {watch.ElapsedMilliseconds} ms in {runs} runs of at most {maxRows} rows; peak working set after IG-50 {peak50 >> 20} MB, after IG-200 {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB");

        using var occlusion = ml.Explain().Occlusion(new OcclusionOptions { ModelPath = resnet, BatchSize = batch, WindowHeight = 32, WindowWidth = 32, StrideHeight = 16, StrideWidth = 16, Target = SaliencyTarget.Index(7) }).Fit(new TransformerChain<ITransformer>(), data);
        int evaluations = 0;
        occlusion.OnnxModel.RunObserver = n => evaluations += n;
        Explain(occlusion, "Occlusion");
        evaluations = 0;
        double occluded = Median(1, () => Explain(occlusion, "Occlusion"));
        Console.WriteLine($"Occlusion (32x32 window, stride 16): {evaluations} model evaluations in {occluded:F0} ms = {evaluations / (occluded / 1000):F1} evaluations/s at batch {batch}");
    }

    private static double Median(int repeats, Action action)
    {
        var times = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    public sealed class Row
    {
        public float[] input = [];
    }
}
