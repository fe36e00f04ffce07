using MLNet.Explain.Onnx.Images;
using SkiaSharp;

namespace MLNet.Explain.Tests.Onnx;

[TestClass]
public sealed class ImageTests
{
    private static string China => TestData.PathOf(Path.Combine("images", "china.jpg"));

    [TestMethod]
    public void PhotoBecomesNormalizedChannelMajorTensor()
    {
        using var bitmap = ImageTensor.Decode(China);
        Assert.AreEqual((640, 427), (bitmap.Width, bitmap.Height));

        var raw = ImageTensor.Load(China, ImageTensorOptions.RawPixels(32, 24));
        Assert.AreEqual(3 * 32 * 24, raw.Length);
        Assert.IsTrue(raw.All(v => v is >= 0 and <= 255));
        Assert.IsTrue(raw.Max() > 200 && raw.Min() < 60, "a real photo spans the pixel range");

        var normalized = ImageTensor.Load(China, ImageTensorOptions.ImageNet(32));
        using var resized = ImageTensor.Resize(bitmap, ImageTensorOptions.ImageNet(32));
        var pixel = resized.GetPixel(5, 7);
        Assert.AreEqual((pixel.Red / 255f - 0.485f) / 0.229f, normalized[0 * 1024 + 7 * 32 + 5], 1e-5, "R plane first");
        Assert.AreEqual((pixel.Blue / 255f - 0.406f) / 0.225f, normalized[2 * 1024 + 7 * 32 + 5], 1e-5, "B plane last");

        var bgr = ImageTensor.Load(China, new ImageTensorOptions { Width = 32, Height = 32, Bgr = true });
        Assert.AreEqual((pixel.Blue / 255f - 0.485f) / 0.229f, bgr[7 * 32 + 5], 1e-5, "BGR puts blue first");
    }

    [TestMethod]
    public void FileThatIsNotAnImageIsRejectedByName()
    {
        var error = Assert.ThrowsExactly<InvalidDataException>(() => ImageTensor.Load(TestData.PathOf("iris.csv"), ImageTensorOptions.ImageNet()));
        StringAssert.Contains(error.Message, "iris.csv");
        Assert.ThrowsExactly<FileNotFoundException>(() => ImageTensor.Load("no-such.png", ImageTensorOptions.ImageNet()));
    }

    [TestMethod]
    public void HeatmapPngShowsTheAttributionPeakAndAColourBar()
    {
        const int h = 40, w = 60;
        var attribution = new float[3 * h * w];
        attribution[1 * h * w + 10 * w + 20] = 5f;   // one strong pixel in the green channel
        attribution[2 * h * w + 30 * w + 50] = -1f;
        var map = Heatmap.Reduce(attribution, 3, h, w, ChannelReduction.AbsoluteSum);
        Assert.AreEqual(5f, map[10 * w + 20]);
        Assert.AreEqual(1f, map[30 * w + 50]);

        var path = Path.Combine(Path.GetTempPath(), $"heatmap-{Guid.NewGuid():N}.png");
        Heatmap.SavePng(path, map, h, w, image: null, new HeatmapOptions { ClipPercentile = 100 });
        using var png = SKBitmap.Decode(path);
        Assert.IsNotNull(png, "a decodable PNG");
        Assert.AreEqual(h, png.Height);
        Assert.IsTrue(png.Width > w, "room for the colour bar");
        float Brightness(SKColor c) => c.Red + c.Green + c.Blue;
        Assert.IsTrue(Brightness(png.GetPixel(20, 10)) > Brightness(png.GetPixel(50, 30)), "the peak is brighter than a weaker pixel");
        Assert.IsTrue(Brightness(png.GetPixel(50, 30)) > Brightness(png.GetPixel(0, 0)), "a weaker pixel is brighter than zero");
        File.Delete(path);
    }

    [TestMethod]
    public void ColourBarLabelsOfTinySignedValuesFitInsideThePng()
    {
        // Long labels (±3.2e-05) used to be cut off at the right edge; a magnified 8x8 map gets a readable bar.
        var map = new float[64];
        map[9] = 3.2e-5f;
        map[50] = -3.2e-5f;
        var path = Path.Combine(Path.GetTempPath(), $"heatmap-{Guid.NewGuid():N}.png");
        Heatmap.SavePng(path, map, 8, 8, image: null, new HeatmapOptions { ClipPercentile = 100, PixelScale = 20 });
        using var png = SKBitmap.Decode(path);
        File.Delete(path);
        Assert.AreEqual(160, png.Height);
        bool Dark(int x, int y) => png.GetPixel(x, y) is var c && c.Red + c.Green + c.Blue < 300;
        int barEnd = 160 + 8 + 16;
        Assert.IsTrue(Enumerable.Range(barEnd, png.Width - barEnd).Any(x => Enumerable.Range(0, 160).Any(y => Dark(x, y))), "the labels are drawn right of the bar");
        for (int x = png.Width - 3; x < png.Width; x++)
            Assert.IsFalse(Enumerable.Range(0, 160).Any(y => Dark(x, y)), $"column {x} at the right edge has text: a label is cut off");
        Assert.IsTrue(Enumerable.Range(barEnd, png.Width - barEnd).Any(x => Enumerable.Range(75, 10).Any(y => Dark(x, y))), "a signed bar labels its middle (0)");
    }
}
