// Explains a ResNet18 transfer-learning classifier on the two bundled photos (samples/data/images, CC-BY, see images_README.txt):
// ResNet18.onnx (from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package) computes 512 features per image, an ML.NET linear classifier
// (SdcaMaximumEntropy) trained on augmented crops tells "china" from "flower", and the saliency stages explain the classifier's score for
// the predicted class down to the pixels (ExplainPredictorHead). Writes overlay PNGs next to the executable (or to the folder given as argument).
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;
using SkiaSharp;

string outputFolder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "saliency");
Directory.CreateDirectory(outputFolder);
string resnet = Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
var onnx = OnnxGradientModel.Load(resnet);
string onnxInput = onnx.InputNames[0], onnxOutput = onnx.OutputNames[0];
var preprocessing = ImageTensorOptions.ImageNet(224);
const int Size = 3 * 224 * 224;

var ml = new MLContext(seed: 1);
string[] photos = ["china", "flower"];
var bitmaps = photos.ToDictionary(p => p, p => ImageTensor.Decode(Path.Combine(AppContext.BaseDirectory, "data", "images", p + ".jpg")));

// Training rows: random crops (60–100% of the shorter side) and mirror images of each photo.
var random = new Random(1);
var training = new List<ImageRow>();
foreach (var photo in photos)
    for (int i = 0; i < 12; i++)
        training.Add(new ImageRow { Input = ImageTensor.FromBitmap(Augment(bitmaps[photo], random), preprocessing), Label = photo });
var definition = SchemaDefinition.Create(typeof(ImageRow));
definition[nameof(ImageRow.Input)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, 224, 224);
var data = ml.Data.LoadFromEnumerable(training, definition);

var pipeline = ml.Transforms.CopyColumns(onnxInput, nameof(ImageRow.Input))
    .Append(ml.Transforms.ApplyOnnxModel([onnxOutput], [onnxInput], resnet))
    .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
    .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", onnxOutput, maximumNumberOfIterations: 50))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
Console.WriteLine("Training the classifier head on ResNet18 features of 24 augmented crops...");
var model = pipeline.Fit(data);

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

var stages = new (string Name, SaliencyEstimator Stage, string Column, bool Signed)[]
{
    ("integrated-gradients", ml.Explain().IntegratedGradients(Common(new IntegratedGradientsOptions { Steps = 32, Baseline = Baseline.Blurred(12) })), "IntegratedGradients", false),
    ("gradcam", ml.Explain().GradCam(Common(new GradCamOptions())), "GradCamUpsampled", false),
    ("smoothgrad", ml.Explain().SmoothGrad(Common(new SmoothGradOptions { Samples = 16 })), "SmoothGrad", false),
    ("occlusion", ml.Explain().Occlusion(Common(new OcclusionOptions { WindowHeight = 32, WindowWidth = 32, StrideHeight = 16, StrideWidth = 16 })), "Occlusion", true),
};

foreach (var (name, stage, column, signed) in stages)
{
    using var explained = stage.Fit(model, photosView);
    var output = explained.Transform(photosView);
    var maps = output.GetColumn<float[]>(column).ToArray();
    var predictions = output.GetColumn<ReadOnlyMemory<char>>("PredictedClass").Select(p => p.ToString()).ToArray();
    for (int r = 0; r < photos.Length; r++)
    {
        var map = maps[r].Length == Size ? (signed ? Heatmap.Reduce(maps[r].AsSpan(0, 224 * 224), 1, 224, 224, ChannelReduction.Sum) : Heatmap.Reduce(maps[r], 3, 224, 224, ChannelReduction.AbsoluteSum)) : maps[r];
        using var background = ImageTensor.Resize(bitmaps[photos[r]], preprocessing);
        string path = Path.Combine(outputFolder, $"{photos[r]}-{name}.png");
        Heatmap.SavePng(path, map, 224, 224, background);
        Console.WriteLine($"{photos[r]}: predicted {predictions[r]}; {name} → {path}");
    }
}

static SKBitmap Augment(SKBitmap source, Random random)
{
    int side = Math.Min(source.Width, source.Height);
    int crop = (int)(side * (0.6 + 0.4 * random.NextDouble()));
    int left = random.Next(source.Width - crop + 1), top = random.Next(source.Height - crop + 1);
    var result = new SKBitmap(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Premul));
    using var canvas = new SKCanvas(result);
    if (random.Next(2) == 1)
    {
        canvas.Translate(224, 0);
        canvas.Scale(-1, 1);
    }
    using var image = SKImage.FromBitmap(source);
    canvas.DrawImage(image, SKRect.Create(left, top, crop, crop), new SKRect(0, 0, 224, 224), new SKSamplingOptions(SKFilterMode.Linear));
    return result;
}

public sealed class ImageRow
{
    public float[] Input = [];
    public string Label = "";
}
