using MLNet.Explain.Samples;
using SkiaSharp;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>The saliency samples as smoke tests: they run, explain what they say, and write decodable heatmaps.</summary>
[TestClass]
public sealed class SaliencySampleTests
{
    [TestMethod]
    public void DigitsCnnSampleExplainsOneDigitPerClassAndWritesHeatmaps()
    {
        string folder = Directory.CreateTempSubdirectory("digits-cnn").FullName;
        try
        {
            var log = new StringWriter();
            var result = DigitsCnnApp.Run(folder, log);
            Console.WriteLine(log);

            Assert.AreEqual(1797, result.Rows);
            Assert.IsTrue(result.Accuracy > 0.97, $"accuracy {result.Accuracy:P1}");
            CollectionAssert.AreEqual(Enumerable.Range(0, 10).ToArray(), result.Digits.Select(d => d.Label).ToArray(), "one digit per class");
            Assert.IsTrue(result.Digits.Count(d => d.Predicted == d.Label) >= 9, "the CNN recognizes the digits it explains");
            foreach (var digit in result.Digits)
                Assert.IsTrue(Math.Abs(digit.Delta) <= 0.01 * Math.Abs(digit.LogitChange), $"row {digit.Row}: IG delta {digit.Delta:G3} of {digit.LogitChange:G4}");

            Assert.HasCount(6 * 10, result.Files);
            foreach (string file in result.Files)
            {
                using var bitmap = SKBitmap.Decode(file);
                Assert.IsNotNull(bitmap, $"{file} decodes");
                Assert.AreEqual(8 * 24, bitmap.Height, "8x8 maps are magnified 24x");
                Assert.IsTrue(bitmap.Width > 8 * 24, "with a colour bar");
            }
            StringAssert.Contains(log.ToString(), "accuracy");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void ImageSaliencySampleClassifiesBothPhotosAndWritesOverlays()
    {
        // The smallest settings that still train a head and run every stage: the sample's own defaults are the quick preset.
        var tiny = new ImageSaliencySettings { TrainingCropsPerPhoto = 4, IntegratedGradientsSteps = 2, SmoothGradSamples = 2, OcclusionWindow = 112 };
        string folder = Directory.CreateTempSubdirectory("image-saliency").FullName;
        try
        {
            var log = new StringWriter();
            var photos = ImageSaliencyApp.Run(folder, log, tiny);
            Console.WriteLine(log);
            CollectionAssert.AreEqual(new[] { "china", "flower" }, photos.Select(p => p.Photo).ToArray());
            CollectionAssert.AreEqual(new[] { "china", "flower" }, photos.Select(p => p.Predicted).ToArray(), "the head recognizes both photos");
            foreach (string file in photos.SelectMany(p => p.Files))
            {
                using var bitmap = SKBitmap.Decode(file);
                Assert.IsNotNull(bitmap, $"{file} decodes");
                Assert.AreEqual(224, bitmap.Height);
            }
            Assert.HasCount(8, photos.SelectMany(p => p.Files).ToArray(), "four methods per photo");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
