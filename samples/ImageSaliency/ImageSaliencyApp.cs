using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;
using SkiaSharp;

namespace MLNet.Explain.Samples;

/// <summary>How much work the sample does: the defaults are the quick settings; <see cref="Full"/> gives smoother maps.</summary>
public sealed record ImageSaliencySettings
{
    /// <summary>Augmented crops per photo that train the classifier head.</summary>
    public int TrainingCropsPerPhoto { get; init; } = 12;

    public int IntegratedGradientsSteps { get; init; } = 16;

    public int SmoothGradSamples { get; init; } = 8;

    /// <summary>Occlusion window side in pixels; the stride is half of it.</summary>
    public int OcclusionWindow { get; init; } = 56;

    /// <summary>The quick defaults: about 90 ResNet18 forward+backward passes for both photos.</summary>
    public static ImageSaliencySettings Quick { get; } = new();

    /// <summary>Paper-like settings (50 IG steps, 50 SmoothGrad samples, 32-pixel occlusion windows): about 8x the work of <see cref="Quick"/>.</summary>
    public static ImageSaliencySettings Full { get; } = new() { IntegratedGradientsSteps = 50, SmoothGradSamples = 50, OcclusionWindow = 32 };
}

/// <summary>One explained photo: its label, the head's prediction and the heatmaps written for it.</summary>
public sealed record ExplainedPhoto(string Photo, string Predicted, IReadOnlyList<string> Files);

/// <summary>
/// Explains a ResNet18 transfer-learning classifier on the two bundled photos (samples/data/images, CC-BY, see images_README.txt):
/// ResNet18.onnx (from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package) computes 512 features per image, an ML.NET linear classifier
/// (SdcaMaximumEntropy) trained on augmented crops tells "china" from "flower", and the saliency stages explain the classifier's score for
/// the predicted class down to the pixels (ExplainPredictorHead), written as overlay PNGs.
/// </summary>
public static class ImageSaliencyApp
{
    public const string DefaultOutputFolder = "image-saliency";

    private const int Side = 224;

    public static IReadOnlyList<ExplainedPhoto> Run(string outputFolder, TextWriter log, ImageSaliencySettings settings)
    {
        Directory.CreateDirectory(outputFolder);
        string resnet = Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        var onnx = OnnxGradientModel.Load(resnet);
        string onnxInput = onnx.InputNames[0], onnxOutput = onnx.OutputNames[0];
        var preprocessing = ImageTensorOptions.ImageNet(Side);

        var ml = new MLContext(seed: 1);
        string[] photos = ["china", "flower"];
        var bitmaps = photos.ToDictionary(p => p, p => ImageTensor.Decode(Path.Combine(AppContext.BaseDirectory, "data", "images", p + ".jpg")));
        try
        {
            // Training rows: random crops (60–100% of the shorter side) and mirror images of each photo.
            var random = new Random(1);
            var training = new List<ImageRow>();
            foreach (var photo in photos)
                for (int i = 0; i < settings.TrainingCropsPerPhoto; i++)
                {
                    using var crop = Augment(bitmaps[photo], random);
                    training.Add(new ImageRow { Input = ImageTensor.FromBitmap(crop, preprocessing), Label = photo });
                }
            var definition = SchemaDefinition.Create(typeof(ImageRow));
            definition[nameof(ImageRow.Input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, Side, Side);
            var data = ml.Data.LoadFromEnumerable(training, definition);

            var pipeline = ml.Transforms.CopyColumns(onnxInput, nameof(ImageRow.Input))
                .Append(ml.Transforms.ApplyOnnxModel([onnxOutput], [onnxInput], resnet))
                .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
                // SDCA passes over the data many times: without the cache every pass would run ResNet18 on every crop again.
                .AppendCacheCheckpoint(ml)
                .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", onnxOutput, maximumNumberOfIterations: 50))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
            log.WriteLine($"Training the classifier head on ResNet18 features of {training.Count} augmented crops...");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var model = pipeline.Fit(data);
            log.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");

            // The two photos as the model sees them (full image resized to 224x224).
            var photosView = ml.Data.LoadFromEnumerable(photos.Select(p => new ImageRow { Input = ImageTensor.FromBitmap(bitmaps[p], preprocessing), Label = p }).ToList(), definition);

            T Common<T>(T options) where T : SaliencyOptions
            {
                options.ModelPath = resnet;
                options.InputColumnName = nameof(ImageRow.Input);
                options.ExplainPredictorHead = true;
                options.Target = SaliencyTarget.IndexColumn("PredictedLabel");
                options.BatchSize = 8;
                return options;
            }

            int window = settings.OcclusionWindow, stride = Math.Max(1, window / 2);
            var stages = new (string Name, SaliencyEstimator Stage, string Column, bool Signed)[]
            {
                ("integrated-gradients", ml.Explain().IntegratedGradients(Common(new IntegratedGradientsOptions { Steps = settings.IntegratedGradientsSteps, Baseline = Baseline.Blurred(12) })), "IntegratedGradients", false),
                ("gradcam", ml.Explain().GradCam(Common(new GradCamOptions())), "GradCamUpsampled", false),
                ("smoothgrad", ml.Explain().SmoothGrad(Common(new SmoothGradOptions { Samples = settings.SmoothGradSamples })), "SmoothGrad", false),
                ("occlusion", ml.Explain().Occlusion(Common(new OcclusionOptions { WindowHeight = window, WindowWidth = window, StrideHeight = stride, StrideWidth = stride })), "Occlusion", true),
            };

            var files = photos.ToDictionary(p => p, _ => new List<string>());
            string[] predictions = [];
            foreach (var (name, stage, column, signed) in stages)
            {
                clock.Restart();
                using var explained = stage.Fit(model, photosView);
                var output = explained.Transform(photosView);
                var maps = output.GetColumn<float[]>(column).ToArray();
                predictions = output.GetColumn<ReadOnlyMemory<char>>("PredictedClass").Select(p => p.ToString()).ToArray();
                log.WriteLine($"{name}: {clock.Elapsed.TotalSeconds:F1} s for {photos.Length} photos");
                for (int r = 0; r < photos.Length; r++)
                {
                    var map = maps[r].Length == 3 * Side * Side
                        ? (signed ? Heatmap.Reduce(maps[r].AsSpan(0, Side * Side), 1, Side, Side, ChannelReduction.Sum) : Heatmap.Reduce(maps[r], 3, Side, Side, ChannelReduction.AbsoluteSum))
                        : maps[r];
                    using var background = ImageTensor.Resize(bitmaps[photos[r]], preprocessing);
                    string path = Path.Combine(outputFolder, $"{photos[r]}-{name}.png");
                    Heatmap.SavePng(path, map, Side, Side, background);
                    files[photos[r]].Add(path);
                    log.WriteLine($"{photos[r]}: predicted {predictions[r]}; {name} → {path}");
                }
            }
            return photos.Select((p, r) => new ExplainedPhoto(p, predictions[r], files[p])).ToList();
        }
        finally
        {
            foreach (var bitmap in bitmaps.Values) bitmap.Dispose();
        }
    }

    private static SKBitmap Augment(SKBitmap source, Random random)
    {
        int side = Math.Min(source.Width, source.Height);
        int crop = (int)(side * (0.6 + 0.4 * random.NextDouble()));
        int left = random.Next(source.Width - crop + 1), top = random.Next(source.Height - crop + 1);
        var result = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(result);
        if (random.Next(2) == 1)
        {
            canvas.Translate(Side, 0);
            canvas.Scale(-1, 1);
        }
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, SKRect.Create(left, top, crop, crop), new SKRect(0, 0, Side, Side), new SKSamplingOptions(SKFilterMode.Linear));
        return result;
    }

    public sealed class ImageRow
    {
        public float[] Input = [];
        public string Label = "";
    }
}
