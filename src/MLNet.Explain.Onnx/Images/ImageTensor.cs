using SkiaSharp;

namespace MLNet.Explain.Onnx.Images;

/// <summary>How an image becomes a model input tensor.</summary>
public sealed class ImageTensorOptions
{
    public int Width { get; set; } = 224;
    public int Height { get; set; } = 224;

    /// <summary>Pixel values are multiplied by this before normalization (1/255 maps bytes to [0, 1]).</summary>
    public float Scale { get; set; } = 1f / 255f;

    /// <summary>Per-channel mean subtracted after scaling (ImageNet's by default).</summary>
    public float[] Mean { get; set; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation divided by after subtracting the mean (ImageNet's by default).</summary>
    public float[] StdDev { get; set; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Channel order of the tensor: RGB (PyTorch exports) or BGR (CNTK/Caffe exports).</summary>
    public bool Bgr { get; set; }

    /// <summary>Crop the centre to the target aspect ratio before resizing, instead of stretching.</summary>
    public bool CenterCrop { get; set; }

    /// <summary>ImageNet preprocessing as torchvision models expect it.</summary>
    public static ImageTensorOptions ImageNet(int size = 224) => new() { Width = size, Height = size };

    /// <summary>Raw pixel values 0..255 in RGB order, no normalization.</summary>
    public static ImageTensorOptions RawPixels(int width, int height)
        => new() { Width = width, Height = height, Scale = 1f, Mean = [0, 0, 0], StdDev = [1, 1, 1] };
}

/// <summary>Loads JPEG/PNG images into [3, H, W] float tensors (channel-major) as image models expect.</summary>
public static class ImageTensor
{
    /// <summary>Decodes <paramref name="path"/>; throws naming the file when it is not an image SkiaSharp can decode.</summary>
    public static SKBitmap Decode(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        return SKBitmap.Decode(path)
               ?? throw new InvalidDataException($"'{path}' is not an image that can be decoded (JPEG, PNG, WebP, GIF or BMP expected).");
    }

    /// <summary>Loads, resizes and normalizes an image file into a [3, H, W] tensor.</summary>
    public static float[] Load(string path, ImageTensorOptions options)
    {
        using var bitmap = Decode(path);
        return FromBitmap(bitmap, options);
    }

    /// <summary>Resizes (optionally centre-cropping) and normalizes a bitmap into a [3, H, W] tensor.</summary>
    public static float[] FromBitmap(SKBitmap bitmap, ImageTensorOptions options)
    {
        if (options.Mean.Length != 3 || options.StdDev.Length != 3)
            throw new ArgumentException("Mean and StdDev need one value per channel (3).", nameof(options));
        using var resized = Resize(bitmap, options);
        int w = options.Width, h = options.Height, plane = w * h;
        var tensor = new float[3 * plane];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                var pixel = resized.GetPixel(x, y);
                Span<float> rgb = [pixel.Red, pixel.Green, pixel.Blue];
                for (int c = 0; c < 3; c++)
                {
                    int source = options.Bgr ? 2 - c : c;
                    tensor[c * plane + y * w + x] = (rgb[source] * options.Scale - options.Mean[c]) / options.StdDev[c];
                }
            }
        }
        return tensor;
    }

    /// <summary>The bitmap as the model sees it (same crop and size), for drawing overlays.</summary>
    public static SKBitmap Resize(SKBitmap bitmap, ImageTensorOptions options)
    {
        var source = new SKRectI(0, 0, bitmap.Width, bitmap.Height);
        if (options.CenterCrop)
        {
            float target = (float)options.Width / options.Height;
            if ((float)bitmap.Width / bitmap.Height > target)
            {
                int width = (int)Math.Round(bitmap.Height * target);
                source = SKRectI.Create((bitmap.Width - width) / 2, 0, width, bitmap.Height);
            }
            else
            {
                int height = (int)Math.Round(bitmap.Width / target);
                source = SKRectI.Create(0, (bitmap.Height - height) / 2, bitmap.Width, height);
            }
        }
        var result = new SKBitmap(new SKImageInfo(options.Width, options.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(result);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, source, new SKRect(0, 0, options.Width, options.Height), new SKSamplingOptions(SKCubicResampler.Mitchell));
        return result;
    }
}
