using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Onnx.Images;
using MLNet.Explain.Onnx.Saliency;
using SkiaSharp;

namespace MLNet.Explain.Samples;

/// <summary>One explained digit: its label, the CNN's prediction, and the Integrated Gradients completeness of the predicted logit.</summary>
public sealed record ExplainedDigit(int Row, int Label, int Predicted, double LogitChange, double Delta);

/// <summary>What the sample computed and wrote.</summary>
public sealed record DigitsCnnResult(double Accuracy, int Rows, IReadOnlyList<ExplainedDigit> Digits, IReadOnlyList<string> Files);

/// <summary>
/// Explains a small CNN trained on the 8x8 digits (tests/models/digits_cnn.onnx, trained and exported with PyTorch by
/// tests/models/make_models.py): the ONNX model scores the digits in an ML.NET pipeline (ApplyOnnxModel), and six saliency stages
/// explain the predicted digit of the first example of every class down to the pixels, written as magnified PNG heatmaps over the digit.
/// </summary>
public static class DigitsCnnApp
{
    public const string DefaultOutputFolder = "digits-saliency";

    /// <summary>Output pixels per input pixel: 8x8 maps become 192x192.</summary>
    private const int PixelScale = 24;

    public static DigitsCnnResult Run(string outputFolder, TextWriter log)
    {
        Directory.CreateDirectory(outputFolder);
        string modelPath = Path.Combine(AppContext.BaseDirectory, "models", "digits_cnn.onnx");
        var ml = new MLContext(seed: 1);
        var digits = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "digits.csv")).Skip(1).Select(Digit.Parse).ToList();
        var definition = SchemaDefinition.Create(typeof(Digit));
        definition["input"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 1, 8, 8);
        var data = ml.Data.LoadFromEnumerable(digits, definition);

        // The CNN in an ML.NET pipeline: its input column is named like the ONNX input, its logits come out as a column.
        var model = ml.Transforms.ApplyOnnxModel(["logits"], ["input"], modelPath).Fit(data);
        var predicted = model.Transform(data).GetColumn<float[]>("logits").Select(ArgMax).ToArray();
        double accuracy = digits.Where((d, i) => predicted[i] == d.Label).Count() / (double)digits.Count;
        log.WriteLine($"digits CNN: accuracy {accuracy:P1} on all {digits.Count} rows of digits.csv (trained on 1,437 of them; 97.8% on the 360 held out)");

        // The first example of each digit, explained at the CNN's predicted class (the stages' default target).
        var rows = Enumerable.Range(0, 10).Select(label => digits.FindIndex(d => d.Label == label)).ToArray();
        var sample = ml.Data.LoadFromEnumerable(rows.Select(r => digits[r]).ToList(), definition);
        T Options<T>(T options) where T : SaliencyOptions
        {
            options.ModelPath = modelPath;
            return options;
        }

        var stages = new (string Name, SaliencyEstimator Stage, string Column, bool Signed)[]
        {
            ("saliency", ml.Explain().Saliency(Options(new VanillaGradientOptions())), "Saliency", false),
            ("gradient-x-input", ml.Explain().GradientTimesInput(Options(new GradientTimesInputOptions())), "GradientTimesInput", true),
            ("integrated-gradients", ml.Explain().IntegratedGradients(Options(new IntegratedGradientsOptions())), "IntegratedGradients", true),
            ("gradcam", ml.Explain().GradCam(Options(new GradCamOptions())), "GradCamUpsampled", false),
            ("guided-backprop", ml.Explain().GuidedBackprop(Options(new GuidedBackpropOptions())), "GuidedBackprop", false),
            ("occlusion", ml.Explain().Occlusion(Options(new OcclusionOptions { WindowHeight = 2, WindowWidth = 2, StrideHeight = 1, StrideWidth = 1 })), "Occlusion", true),
        };

        var files = new List<string>();
        var explainedDigits = new List<ExplainedDigit>();
        foreach (var (name, stage, column, signed) in stages)
        {
            using var explained = stage.Fit(model, sample);
            var output = explained.Transform(sample);
            var maps = output.GetColumn<float[]>(column).ToArray();
            if (name == "integrated-gradients")
            {
                var deltas = output.GetColumn<float>("IntegratedGradientsDelta").ToArray();
                for (int i = 0; i < rows.Length; i++)
                {
                    double logitChange = maps[i].Sum(v => (double)v) - deltas[i];
                    explainedDigits.Add(new ExplainedDigit(rows[i], digits[rows[i]].Label, predicted[rows[i]], logitChange, deltas[i]));
                }
            }

            for (int i = 0; i < rows.Length; i++)
            {
                var digit = digits[rows[i]];
                var map = signed ? maps[i] : maps[i].Select(Math.Abs).ToArray();
                using var background = digit.ToBitmap();
                string path = Path.Combine(outputFolder, $"digit{digit.Label}-row{rows[i]}-{name}.png");
                Heatmap.SavePng(path, map, 8, 8, background, new HeatmapOptions { PixelScale = PixelScale });
                files.Add(path);
            }
        }

        log.WriteLine("Integrated Gradients (50 Gauss–Legendre steps, blank-image baseline) of the predicted logit:");
        log.WriteLine("  row  label  predicted  f(x) − f(blank)  delta     |delta| / |f(x) − f(blank)|");
        foreach (var d in explainedDigits)
            log.WriteLine($"  {d.Row,3}  {d.Label,5}  {d.Predicted,9}  {d.LogitChange,15:F3}  {d.Delta,8:F4}  {Math.Abs(d.Delta) / Math.Abs(d.LogitChange),8:P2}");
        log.WriteLine($"Wrote {files.Count} heatmaps (digit<label>-row<row>-<method>.png; red raises the predicted logit, blue lowers it) to {Path.GetFullPath(outputFolder)}");
        return new DigitsCnnResult(accuracy, digits.Count, explainedDigits, files);
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());

    /// <summary>One row of digits.csv: 64 pixels (0–16, scaled to 0–1 as the CNN was trained) and the label.</summary>
    public sealed class Digit
    {
        [ColumnName("input")]
        public float[] Pixels { get; set; } = [];

        public int Label { get; set; }

        public static Digit Parse(string line)
        {
            var values = line.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            return new Digit { Pixels = values[..64].Select(v => v / 16).ToArray(), Label = (int)values[64] };
        }

        /// <summary>The digit as a grey image (ink dark) for the heatmap background.</summary>
        public SKBitmap ToBitmap()
        {
            var bitmap = new SKBitmap(8, 8);
            for (int i = 0; i < 64; i++)
            {
                byte grey = (byte)Math.Round(255 * (1 - Pixels[i]));
                bitmap.SetPixel(i % 8, i / 8, new SKColor(grey, grey, grey));
            }
            return bitmap;
        }
    }
}
