using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of Occlusion (Zeiler and Fergus 2014): how much the target drops when a window of the input is replaced by the baseline.</summary>
public sealed class OcclusionOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "Occlusion";

    /// <summary>Window height in input elements; 0: an eighth of the input height (at least 1).</summary>
    public int WindowHeight { get; set; }

    /// <summary>Window width; 0: an eighth of the input width (at least 1).</summary>
    public int WindowWidth { get; set; }

    /// <summary>Vertical step between windows; 0: half the window height (at least 1).</summary>
    public int StrideHeight { get; set; }

    /// <summary>Horizontal step between windows; 0: half the window width (at least 1).</summary>
    public int StrideWidth { get; set; }

    /// <summary>What the occluded window is filled with (all channels at once).</summary>
    public Baseline Baseline { get; set; } = Baseline.Zeros;
}

/// <summary>
/// Occlusion: forward passes only, every occluded copy of every row of a block streamed through runs of <see cref="SaliencyOptions.BatchSize"/> rows.
/// Each input element gets the mean of f(input) − f(occluded) over the windows that cover it (0 where no window reaches), the same for every channel.
/// </summary>
internal sealed class Occlusion(OcclusionOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IEnumerable<string> ExtraInputColumns => options.Baseline.ColumnName is { } c ? [c] : [];

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model)
    {
        Geometry.Of(model.InputShape, options);
        return [ExplanationColumn.Tensor(options.OutputColumnName, model.InputShape)];
    }

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var g = Geometry.Of(model.InputShape, options);
        int windows = g.Windows.Count, plane = g.Height * g.Width;
        var baselines = new float[block.Count][];
        for (int r = 0; r < block.Count; r++) baselines[r] = options.Baseline.For(block[r], model.InputShape);
        var drops = new double[block.Count * windows];
        model.Forward(block.Count * windows,
            (e, input) =>
            {
                int r = e / windows;
                var (top, left) = g.Windows[e % windows];
                block[r].Input.CopyTo(input);
                for (int p = 0; p < g.Planes; p++)
                    for (int y = top; y < top + g.WindowHeight; y++)
                    {
                        int offset = p * plane + y * g.Width + left;
                        baselines[r].AsSpan(offset, g.WindowWidth).CopyTo(input.Slice(offset, g.WindowWidth));
                    }
            },
            (e, output) => drops[e] = block[e / windows].TargetValue - Dot(output, block[e / windows].Cotangent));

        for (int r = 0; r < block.Count; r++)
        {
            var sum = new double[plane];
            var count = new int[plane];
            for (int w = 0; w < windows; w++)
            {
                var (top, left) = g.Windows[w];
                for (int y = top; y < top + g.WindowHeight; y++)
                    for (int x = left; x < left + g.WindowWidth; x++)
                    {
                        sum[y * g.Width + x] += drops[r * windows + w];
                        count[y * g.Width + x]++;
                    }
            }
            var attribution = new float[model.InputSize];
            for (int i = 0; i < attribution.Length; i++)
            {
                int pixel = i % plane;
                attribution[i] = count[pixel] == 0 ? 0 : (float)(sum[pixel] / count[pixel]);
            }
            outputs[r][0] = attribution;
        }
    }

    /// <summary>Window positions over the last two axes (height, width) of the input; leading axes (channels) are occluded together.</summary>
    private sealed record Geometry(int Planes, int Height, int Width, int WindowHeight, int WindowWidth, IReadOnlyList<(int Top, int Left)> Windows)
    {
        public static Geometry Of(int[] shape, OcclusionOptions options)
        {
            int height = shape.Length >= 2 ? shape[^2] : 1, width = shape[^1];
            int planes = shape.Aggregate(1, (a, b) => a * b) / (height * width);
            int wh = options.WindowHeight > 0 ? options.WindowHeight : Math.Max(1, height / 8);
            int ww = options.WindowWidth > 0 ? options.WindowWidth : Math.Max(1, width / 8);
            if (wh > height || ww > width)
                throw new ArgumentOutOfRangeException(nameof(options), $"The occlusion window {wh}x{ww} is larger than the input's {height}x{width}.");
            int sh = options.StrideHeight > 0 ? options.StrideHeight : Math.Max(1, wh / 2);
            int sw = options.StrideWidth > 0 ? options.StrideWidth : Math.Max(1, ww / 2);
            var windows = new List<(int, int)>();
            for (int top = 0; top + wh <= height; top += sh)
                for (int left = 0; left + ww <= width; left += sw)
                    windows.Add((top, left));
            return new Geometry(planes, height, width, wh, ww, windows);
        }
    }
}
