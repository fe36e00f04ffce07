using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;

namespace MLNet.Explain.Cli.Commands;

/// <summary>
/// <c>mlnet-explain saliency</c>: runs one saliency stage on an ONNX model for an image (loaded, resized and normalized) or the rows of a float32
/// .npy, writes the attributions as float32 .npy (rows first, shaped like the input; Grad-CAM: the upsampled map) and optionally a PNG overlay.
/// </summary>
internal static class SaliencyCommand
{
    private static readonly string[] Methods = ["saliency", "gradxinput", "smoothgrad", "ig", "gradcam", "guided", "guidedgradcam", "occlusion"];

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "ONNX model file.", Required = true };
        var image = new Option<FileInfo?>("--image") { Description = "JPEG/PNG image to explain (resized to the model input, ImageNet normalization unless --raw-pixels)." };
        var input = new Option<FileInfo?>("--input") { Description = "float32 .npy with model input rows (rows first)." };
        var method = new Option<string>("--method") { Description = string.Join("|", Methods), Required = true };
        method.AcceptOnlyFromAmong(Methods);
        var targetIndex = new Option<int?>("--target-index") { Description = "Output index to explain for every row (default: the top predicted class)." };
        var probabilities = new Option<bool>("--probabilities") { Description = "Explain softmax probabilities instead of logits." };
        var steps = new Option<int>("--steps") { Description = "Integrated Gradients steps.", DefaultValueFactory = _ => 50 };
        var rule = new Option<IntegrationRule>("--rule") { Description = "Integrated Gradients rule: GaussLegendre, RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid.", DefaultValueFactory = _ => IntegrationRule.GaussLegendre };
        var baseline = new Option<string>("--baseline") { Description = "IG/occlusion baseline: zeros, constant:V, blur:SIGMA, noise:LOW:HIGH.", DefaultValueFactory = _ => "zeros" };
        var samples = new Option<int>("--samples") { Description = "SmoothGrad samples.", DefaultValueFactory = _ => 50 };
        var noise = new Option<float>("--noise") { Description = "SmoothGrad noise as a fraction of the input range.", DefaultValueFactory = _ => 0.15f };
        var variant = new Option<SmoothGradVariant>("--variant") { Description = "SmoothGrad, SmoothGradSquared or VarGrad.", DefaultValueFactory = _ => SmoothGradVariant.SmoothGrad };
        var tensor = new Option<string?>("--tensor") { Description = "Grad-CAM tensor name (default: the last Conv output)." };
        var noRelu = new Option<bool>("--no-relu") { Description = "Grad-CAM without the final ReLU." };
        var upsampling = new Option<Upsampling>("--upsampling") { Description = "Grad-CAM upsampling: Bilinear or Nearest.", DefaultValueFactory = _ => Upsampling.Bilinear };
        var window = new Option<int>("--window") { Description = "Occlusion window side (default: an eighth of the input)." };
        var stride = new Option<int>("--stride") { Description = "Occlusion stride (default: half the window)." };
        var rawPixels = new Option<bool>("--raw-pixels") { Description = "Feed image pixels as 0..255 RGB without normalization." };
        var batch = new Option<int>("--batch") { Description = "Rows per ONNX Runtime run.", DefaultValueFactory = _ => 16 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var output = new Option<FileInfo>("--out") { Description = "float32 .npy to write the attributions to.", Required = true };
        var png = new Option<FileInfo?>("--png") { Description = "PNG heatmap (over the image with --image) of the first row." };

        var command = new Command("saliency", "Saliency maps of an ONNX model: vanilla gradient, Gradient x Input, SmoothGrad, Integrated Gradients, Grad-CAM, Guided Backprop, Guided Grad-CAM or Occlusion.")
        {
            model, image, input, method, targetIndex, probabilities, steps, rule, baseline, samples, noise, variant, tensor, noRelu, upsampling, window, stride, rawPixels, batch, device, output, png,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(image) is null) == (result.GetValue(input) is null))
                result.AddError("Give exactly one of --image a.jpg and --input x.npy.");
        });
        command.SetAction(parse =>
        {
            try
            {
                var options = Options(parse.GetValue(method)!, parse.GetValue(steps), parse.GetValue(rule), ParseBaseline(parse.GetValue(baseline)!), parse.GetValue(samples),
                    parse.GetValue(noise), parse.GetValue(variant), parse.GetValue(tensor), !parse.GetValue(noRelu), parse.GetValue(upsampling), parse.GetValue(window), parse.GetValue(stride));
                options.ModelPath = parse.GetValue(model)!.FullName;
                options.BatchSize = parse.GetValue(batch);
                options.Device = parse.GetValue(device)!;
                options.Output = parse.GetValue(probabilities) ? SaliencyOutput.Probabilities : SaliencyOutput.Logits;
                if (parse.GetValue(targetIndex) is { } k) options.Target = SaliencyTarget.Index(k);
                return Execute(options, parse.GetValue(image), parse.GetValue(input), parse.GetValue(rawPixels), parse.GetValue(output)!, parse.GetValue(png));
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or NotSupportedException or FileNotFoundException or GradientDeviceException or InvalidOperationException)
            {
                Console.Error.WriteLine($"error: {(e is InvalidOperationException { InnerException: { } inner } ? inner.Message : e.Message)}");
                return 1;
            }
        });
        return command.WithExamples(
            "mlnet-explain saliency --model resnet18.onnx --image cat.jpg --method ig --steps 50 --baseline blur:10 --target-index 281 --out ig.npy --png ig.png",
            "mlnet-explain saliency --model cnn.onnx --input rows.npy --method gradcam --tensor /conv4/Conv_output_0 --upsampling Nearest --out cam.npy",
            "mlnet-explain saliency --model cnn.onnx --input rows.npy --method occlusion --window 4 --stride 2 --probabilities --out occlusion.npy");
    }

    private static SaliencyOptions Options(string method, int steps, IntegrationRule rule, Baseline baseline, int samples, float noise, SmoothGradVariant variant,
        string? tensor, bool relu, Upsampling upsampling, int window, int stride) => method switch
    {
        "saliency" => new VanillaGradientOptions(),
        "gradxinput" => new GradientTimesInputOptions(),
        "smoothgrad" => new SmoothGradOptions { Samples = samples, NoiseLevel = noise, Variant = variant },
        "ig" => new IntegratedGradientsOptions { Steps = steps, Rule = rule, Baseline = baseline },
        "gradcam" => new GradCamOptions { TensorName = tensor, Relu = relu, Upsampling = upsampling },
        "guided" => new GuidedBackpropOptions(),
        "guidedgradcam" => new GuidedGradCamOptions { TensorName = tensor, Upsampling = upsampling },
        _ => new OcclusionOptions { WindowHeight = window, WindowWidth = window, StrideHeight = stride, StrideWidth = stride, Baseline = baseline },
    };

    private static Baseline ParseBaseline(string text)
    {
        var parts = text.Split(':');
        float Number(int i) => float.Parse(parts[i], System.Globalization.CultureInfo.InvariantCulture);
        return (parts[0], parts.Length) switch
        {
            ("zeros", 1) => Baseline.Zeros,
            ("constant", 2) => Baseline.Constant(Number(1)),
            ("blur", 1) => Baseline.Blurred(),
            ("blur", 2) => Baseline.Blurred(Number(1)),
            ("noise", 3) => Baseline.UniformNoise(Number(1), Number(2)),
            _ => throw new ArgumentException($"Unknown baseline '{text}'; expected zeros, constant:V, blur[:SIGMA] or noise:LOW:HIGH."),
        };
    }

    private static int Execute(SaliencyOptions options, FileInfo? imageFile, FileInfo? inputFile, bool rawPixels, FileInfo outFile, FileInfo? pngFile)
    {
        var ml = new MLContext(seed: 0);
        var estimator = Stage(ml.Explain(), options);
        var onnx = OnnxGradientModel.Load(options.ModelPath);
        if (onnx.InputNames.Count != 1) throw new ArgumentException($"The model has {onnx.InputNames.Count} inputs; the saliency command explains single-input models.");

        // Static row shape of the input after the engine's batch rewrite and shape inference.
        int[] rowShape;
        using (var probe = onnx.CreateSession(new GradientGraphOptions { BatchSize = 1 }))
            rowShape = probe.RowShape(onnx.InputNames[0]).Select(d => (int)d).ToArray();
        float[] data;
        int rows;
        SkiaSharp.SKBitmap? background = null;
        if (imageFile is not null)
        {
            if (rowShape.Length != 3 || rowShape[0] != 3)
                throw new ArgumentException($"--image needs a model whose input rows are [3, H, W]; this model's input rows are [{string.Join(",", rowShape)}]. Use --input x.npy.");
            var imageOptions = rawPixels ? ImageTensorOptions.RawPixels(rowShape[2], rowShape[1]) : new ImageTensorOptions { Width = rowShape[2], Height = rowShape[1] };
            using var bitmap = ImageTensor.Decode(imageFile.FullName);
            data = ImageTensor.FromBitmap(bitmap, imageOptions);
            background = ImageTensor.Resize(bitmap, imageOptions);
            rows = 1;
        }
        else
        {
            var npy = NpyFile.Read<float>(inputFile!.FullName);
            if (npy.Shape.Length < 2 || !npy.Shape[1..].SequenceEqual(rowShape))
                throw new ArgumentException($"{inputFile.Name} has shape ({string.Join(", ", npy.Shape)}); model input '{onnx.InputNames[0]}' expects (rows, {string.Join(", ", rowShape)}).");
            data = npy.Data;
            rows = npy.Shape[0];
        }

        int size = rowShape.Aggregate(1, (a, b) => a * b);
        var definition = SchemaDefinition.Create(typeof(InputRow));
        definition[nameof(InputRow.input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, rowShape);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(r => new InputRow { input = data[(r * size)..((r + 1) * size)] }).ToList(), definition);
        options.InputColumnName = nameof(InputRow.input);
        using var stage = estimator.Fit(new TransformerChain<ITransformer>(), view);
        string column = options is GradCamOptions g ? g.UpsampledColumnName : options.OutputColumnName;
        var maps = stage.Transform(view).GetColumn<float[]>(column).ToArray();
        int[] mapShape = options is GradCamOptions ? [rowShape[^2], rowShape[^1]] : rowShape;
        NpyFile.Write(outFile.FullName, maps.SelectMany(m => m).ToArray(), [rows, .. mapShape]);
        Console.WriteLine($"Wrote {column} ({rows}x{string.Join("x", mapShape)}) to {outFile.FullName}.");

        if (pngFile is not null)
        {
            if (mapShape.Length < 2) throw new ArgumentException($"--png needs an image-like input; the attributions have shape [{string.Join(",", mapShape)}].");
            int height = mapShape[^2], width = mapShape[^1], channels = maps[0].Length / (height * width);
            var map = Heatmap.Reduce(maps[0], channels, height, width, options is OcclusionOptions ? ChannelReduction.Sum : ChannelReduction.AbsoluteSum);
            if (options is OcclusionOptions) map = map.Select(v => v / channels).ToArray();
            // Small inputs (8x8 digits, 28x28 MNIST) are magnified to at least 160 pixels so the map and its colour bar are readable.
            Heatmap.SavePng(pngFile.FullName, map, height, width, background, new HeatmapOptions { PixelScale = Math.Max(1, (int)Math.Ceiling(160.0 / height)) });
            Console.WriteLine($"Wrote heatmap to {pngFile.FullName}.");
        }

        background?.Dispose();
        return 0;
    }

    private static SaliencyEstimator Stage(ExplainCatalog catalog, SaliencyOptions options) => options switch
    {
        VanillaGradientOptions o => catalog.Saliency(o),
        GradientTimesInputOptions o => catalog.GradientTimesInput(o),
        SmoothGradOptions o => catalog.SmoothGrad(o),
        IntegratedGradientsOptions o => catalog.IntegratedGradients(o),
        GradCamOptions o => catalog.GradCam(o),
        GuidedBackpropOptions o => catalog.GuidedBackprop(o),
        GuidedGradCamOptions o => catalog.GuidedGradCam(o),
        OcclusionOptions o => catalog.Occlusion(o),
        _ => throw new ArgumentException($"Unknown options {options.GetType().Name}."),
    };

    public sealed class InputRow
    {
        public float[] input = [];
    }
}
