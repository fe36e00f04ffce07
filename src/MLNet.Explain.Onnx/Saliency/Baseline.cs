namespace MLNet.Explain.Onnx.Saliency;

/// <summary>
/// The reference input that Integrated Gradients integrates from and Occlusion paints into the occluded window:
/// zeros, a constant, a blurred copy of the input, uniform noise, or a column of the data.
/// </summary>
public sealed class Baseline
{
    private readonly BaselineKind _kind;
    private readonly float _a, _b;

    private Baseline(BaselineKind kind, float a = 0, float b = 0, string? column = null)
    {
        _kind = kind;
        _a = a;
        _b = b;
        ColumnName = column;
    }

    /// <summary>All zeros (for normalized image inputs: the mean image).</summary>
    public static Baseline Zeros { get; } = new(BaselineKind.Constant);

    /// <summary>Every value equal to <paramref name="value"/>.</summary>
    public static Baseline Constant(float value) => new(BaselineKind.Constant, value);

    /// <summary>
    /// The input blurred by a Gaussian of standard deviation <paramref name="sigma"/> (in elements) over its last two axes (height and width), each
    /// channel separately: removes the detail while keeping the colours (Sturmfels et al. 2020).
    /// </summary>
    public static Baseline Blurred(float sigma = 5)
        => sigma > 0 ? new(BaselineKind.Blurred, sigma) : throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "The blur needs a positive standard deviation.");

    /// <summary>Independent uniform draws in [<paramref name="low"/>, <paramref name="high"/>), reproducible per row (seeded by the stage seed and the row).</summary>
    public static Baseline UniformNoise(float low, float high)
        => high > low ? new(BaselineKind.UniformNoise, low, high) : throw new ArgumentOutOfRangeException(nameof(high), high, $"The noise range needs high > low ({low}).");

    /// <summary>The baseline held by a float vector column of the data (same size as the model input).</summary>
    public static Baseline FromColumn(string columnName)
        => string.IsNullOrWhiteSpace(columnName) ? throw new ArgumentException("A baseline column needs a name.", nameof(columnName)) : new(BaselineKind.Column, column: columnName);

    /// <summary>The column holding the baseline, for <see cref="FromColumn"/>.</summary>
    public string? ColumnName { get; }

    public override string ToString() => _kind switch
    {
        BaselineKind.Constant => _a == 0 ? "zeros" : $"constant {_a}",
        BaselineKind.Blurred => $"blurred (sigma {_a})",
        BaselineKind.UniformNoise => $"uniform noise [{_a}, {_b})",
        _ => $"column '{ColumnName}'",
    };

    /// <summary>The baseline of one row (model input row shape <paramref name="shape"/>).</summary>
    internal float[] For(SaliencyRow row, int[] shape)
    {
        var input = row.Input;
        switch (_kind)
        {
            case BaselineKind.Constant:
                var constant = new float[input.Length];
                Array.Fill(constant, _a);
                return constant;
            case BaselineKind.Blurred:
                return Blur(input, shape, _a);
            case BaselineKind.UniformNoise:
                var random = row.Random();
                var noise = new float[input.Length];
                for (int i = 0; i < noise.Length; i++) noise[i] = (float)(_a + (_b - _a) * random.NextDouble());
                return noise;
            default:
                var values = row.Vector(ColumnName!);
                if (values.Length != input.Length)
                    throw new ArgumentException($"Baseline column '{ColumnName}' holds {values.Length} values in row {row.Index}; the model input has {input.Length}.");
                return values;
        }
    }

    /// <summary>Separable Gaussian blur over the last two axes, edges clamped.</summary>
    internal static float[] Blur(float[] input, int[] shape, float sigma)
    {
        if (shape.Length < 2) throw new ArgumentException($"A blurred baseline needs an input with height and width axes; the model input row has shape [{string.Join(",", shape)}].");
        int height = shape[^2], width = shape[^1], plane = height * width, planes = input.Length / plane;
        int radius = (int)Math.Ceiling(3 * sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(d => Math.Exp(-d * d / (2.0 * sigma * sigma))).ToArray();
        double total = kernel.Sum();
        var horizontal = new float[input.Length];
        var result = new float[input.Length];
        for (int p = 0; p < planes; p++)
        {
            int o = p * plane;
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double sum = 0;
                    for (int d = -radius; d <= radius; d++)
                        sum += kernel[d + radius] * input[o + y * width + Math.Clamp(x + d, 0, width - 1)];
                    horizontal[o + y * width + x] = (float)(sum / total);
                }
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double sum = 0;
                    for (int d = -radius; d <= radius; d++)
                        sum += kernel[d + radius] * horizontal[o + Math.Clamp(y + d, 0, height - 1) * width + x];
                    result[o + y * width + x] = (float)(sum / total);
                }
        }
        return result;
    }

    private enum BaselineKind
    {
        Constant,
        Blurred,
        UniformNoise,
        Column,
    }
}
