using SkiaSharp;

namespace MLNet.Explain.Onnx.Images;

/// <summary>How channel attributions become one value per pixel.</summary>
public enum ChannelReduction
{
    /// <summary>Sum of absolute values over channels: "how much did this pixel matter" (the usual saliency view).</summary>
    AbsoluteSum,

    /// <summary>Signed sum over channels: "did this pixel push the output up or down".</summary>
    Sum,
}

/// <summary>Options for rendering an attribution map.</summary>
public sealed class HeatmapOptions
{
    public ChannelReduction Reduction { get; set; } = ChannelReduction.AbsoluteSum;

    /// <summary>Opacity of the heatmap over the image, 0..1.</summary>
    public float Opacity { get; set; } = 0.55f;

    /// <summary>Values beyond this percentile of |value| are clipped, so one extreme pixel does not wash out the map.</summary>
    public double ClipPercentile { get; set; } = 99;

    public bool ColorBar { get; set; } = true;

    /// <summary>Output pixels per map cell along each axis: small inputs (8x8 digits, 28x28 MNIST) need magnifying to be readable.</summary>
    public int PixelScale { get; set; } = 1;
}

/// <summary>Renders attribution maps as PNG heatmaps and image overlays with a colour bar.</summary>
public static class Heatmap
{
    /// <summary>Reduces a [C, H, W] attribution to [H, W].</summary>
    public static float[] Reduce(ReadOnlySpan<float> attribution, int channels, int height, int width, ChannelReduction reduction)
    {
        int plane = height * width;
        if (attribution.Length != channels * plane)
            throw new ArgumentException($"The attribution has {attribution.Length} values; [{channels}, {height}, {width}] needs {channels * plane}.", nameof(attribution));
        var map = new float[plane];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
            {
                float v = attribution[c * plane + i];
                map[i] += reduction == ChannelReduction.AbsoluteSum ? Math.Abs(v) : v;
            }
        return map;
    }

    /// <summary>
    /// Writes <paramref name="map"/> ([H, W]) as a PNG over <paramref name="image"/> (scaled to the map's size), or on
    /// its own when <paramref name="image"/> is null. Signed maps use a blue-white-red scale centred on zero.
    /// </summary>
    public static void SavePng(string path, float[] map, int height, int width, SKBitmap? image, HeatmapOptions? options = null)
    {
        options ??= new HeatmapOptions();
        if (map.Length != height * width)
            throw new ArgumentException($"The map has {map.Length} values; {height}x{width} needs {height * width}.", nameof(map));
        if (options.PixelScale < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.PixelScale, $"{nameof(HeatmapOptions.PixelScale)} must be at least 1.");
        bool signed = map.Any(v => v < 0);
        float limit = Limit(map, options.ClipPercentile);

        const int barWidth = 16, gap = 8;
        var area = new SKRect(0, 0, width * options.PixelScale, height * options.PixelScale);
        using var font = new SKFont(LabelTypeface.Value, LabelSize);
        string[] labels = signed ? [Label(limit), "0", Label(-limit)] : [Label(limit), Label(0)];
        // The labels' width is measured, so long ones (-1.2e-05) are never cut off at the right edge.
        int labelWidth = (int)Math.Ceiling(labels.Max(l => font.MeasureText(l)));
        int totalWidth = (int)area.Width + (options.ColorBar ? gap + barWidth + LabelGap + labelWidth + gap : 0);
        using var surface = new SKBitmap(new SKImageInfo(totalWidth, (int)area.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(surface);
        canvas.Clear(SKColors.White);
        if (image is not null)
        {
            using var background = SKImage.FromBitmap(image);
            canvas.DrawImage(background, area, new SKSamplingOptions(SKFilterMode.Linear));
        }

        using var overlay = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        byte alpha = (byte)Math.Round(255 * (image is null ? 1f : Math.Clamp(options.Opacity, 0f, 1f)));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                overlay.SetPixel(x, y, ColorOf(map[y * width + x] / limit, signed).WithAlpha(alpha));
        using (var heat = SKImage.FromBitmap(overlay))
            canvas.DrawImage(heat, area, new SKSamplingOptions(SKFilterMode.Nearest));

        if (options.ColorBar)
            DrawColorBar(canvas, new SKRect(area.Right + gap, gap, area.Right + gap + barWidth, area.Bottom - gap), signed, labels, font);

        using var data = SKImage.FromBitmap(surface).Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>The clipping limit: the given percentile of |value| (never zero, so an all-zero map stays drawable).</summary>
    private static float Limit(float[] map, double percentile)
    {
        var magnitudes = map.Select(Math.Abs).Order().ToArray();
        int index = (int)Math.Clamp(Math.Ceiling(percentile / 100 * magnitudes.Length) - 1, 0, magnitudes.Length - 1);
        float limit = magnitudes.Length == 0 ? 0 : magnitudes[index];
        return limit > 0 ? limit : 1;
    }

    /// <summary>Signed maps: blue (−1) → white (0) → red (+1). Unsigned: a dark-to-bright "inferno"-like ramp.</summary>
    private static SKColor ColorOf(float value, bool signed)
    {
        value = Math.Clamp(value, signed ? -1f : 0f, 1f);
        if (signed)
        {
            byte fade = (byte)Math.Round(255 * (1 - Math.Abs(value)));
            return value >= 0 ? new SKColor(255, fade, fade) : new SKColor(fade, fade, 255);
        }
        return Interpolate(Inferno, value);
    }

    private static readonly SKColor[] Inferno =
    [
        new(0, 0, 4), new(40, 11, 84), new(101, 21, 110), new(159, 42, 99),
        new(212, 72, 66), new(245, 125, 21), new(250, 193, 39), new(252, 255, 164),
    ];

    private static SKColor Interpolate(SKColor[] stops, float t)
    {
        float position = t * (stops.Length - 1);
        int i = Math.Min((int)position, stops.Length - 2);
        float f = position - i;
        byte Mix(byte a, byte b) => (byte)Math.Round(a + (b - a) * f);
        return new SKColor(Mix(stops[i].Red, stops[i + 1].Red), Mix(stops[i].Green, stops[i + 1].Green), Mix(stops[i].Blue, stops[i + 1].Blue));
    }

    private const float LabelSize = 11;

    /// <summary>
    /// The colour-bar font. The Linux SkiaSharp native assets we ship (NoDependencies) are built without fontconfig, so their default
    /// typeface has no glyphs and the labels came out invisible: fall back to a sans-serif font file of the system.
    /// </summary>
    private static readonly Lazy<SKTypeface> LabelTypeface = new(() =>
    {
        if (SKTypeface.Default.GlyphCount > 0) return SKTypeface.Default;
        string[] known =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
            "C:\\Windows\\Fonts\\arial.ttf", "/System/Library/Fonts/Helvetica.ttc", "/Library/Fonts/Arial.ttf",
        ];
        var others = Directory.Exists("/usr/share/fonts")
            ? Directory.EnumerateFiles("/usr/share/fonts", "*Sans*.ttf", SearchOption.AllDirectories).Order()
            : Enumerable.Empty<string>();
        foreach (string file in known.Where(File.Exists).Concat(others))
            if (SKTypeface.FromFile(file) is { GlyphCount: > 0 } typeface) return typeface;
        return SKTypeface.Default;
    });
    private const int LabelGap = 4;

    /// <summary>The bar with its labels (top: the clipping limit, bottom: 0 or −limit, and 0 at the middle of signed bars), centred on their ticks.</summary>
    private static void DrawColorBar(SKCanvas canvas, SKRect bar, bool signed, string[] labels, SKFont font)
    {
        using var paint = new SKPaint();
        for (int y = (int)bar.Top; y < (int)bar.Bottom; y++)
        {
            float t = 1 - (y - bar.Top) / bar.Height;
            paint.Color = ColorOf(signed ? 2 * t - 1 : t, signed);
            canvas.DrawRect(bar.Left, y, bar.Width, 1, paint);
        }
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        float half = font.Size * 0.35f;
        float[] ticks = signed ? [bar.Top, bar.MidY, bar.Bottom] : [bar.Top, bar.Bottom];
        for (int i = 0; i < labels.Length; i++)
            canvas.DrawText(labels[i], bar.Right + LabelGap, ticks[i] + half, SKTextAlign.Left, font, text);
    }

    private static string Label(float value) => value.ToString(Math.Abs(value) >= 100 || (value != 0 && Math.Abs(value) < 0.01) ? "0.0e0" : "0.00");
}
