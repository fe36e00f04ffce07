using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>How SmoothGrad aggregates the gradients of the noisy samples.</summary>
public enum SmoothGradVariant
{
    /// <summary>Mean gradient (Smilkov et al. 2017).</summary>
    SmoothGrad,

    /// <summary>Mean squared gradient (Hooker et al. 2019).</summary>
    SmoothGradSquared,

    /// <summary>Variance of the gradients (Adebayo et al. 2018).</summary>
    VarGrad,
}

/// <summary>Options of SmoothGrad: gradients averaged over noisy copies of the input.</summary>
public sealed class SmoothGradOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "SmoothGrad";

    /// <summary>Noisy copies per row.</summary>
    public int Samples { get; set; } = 50;

    /// <summary>Standard deviation of the Gaussian noise as a fraction of the row's input range (max − min); the paper recommends 0.1–0.2.</summary>
    public float NoiseLevel { get; set; } = 0.15f;

    public SmoothGradVariant Variant { get; set; } = SmoothGradVariant.SmoothGrad;
}

/// <summary>
/// SmoothGrad: the noisy copies of all rows of a block stream through the gradient runs <see cref="SaliencyOptions.BatchSize"/> at a time. The
/// target is chosen at the clean input; the noise is reproducible (seeded by the stage seed and the row's content).
/// </summary>
internal sealed class SmoothGrad : SaliencyMethod
{
    private readonly SmoothGradOptions _options;

    public SmoothGrad(SmoothGradOptions options)
    {
        if (options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Samples, $"{nameof(SmoothGradOptions.Samples)} must be at least 1.");
        if (!(options.NoiseLevel >= 0)) throw new ArgumentOutOfRangeException(nameof(options), options.NoiseLevel, $"{nameof(SmoothGradOptions.NoiseLevel)} cannot be negative.");
        _options = options;
    }

    public override SaliencyOptions Options => _options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model) => [ExplanationColumn.Tensor(_options.OutputColumnName, model.InputShape)];

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        int samples = _options.Samples, size = model.InputSize;
        var sum = new double[block.Count][];
        var sumOfSquares = new double[block.Count][];
        var randoms = new RowRandom[block.Count];
        var sigma = new double[block.Count];
        for (int r = 0; r < block.Count; r++)
        {
            var input = block[r].Input;
            sigma[r] = _options.NoiseLevel * (input.Max() - input.Min());
            randoms[r] = block[r].Random();
            sum[r] = new double[size];
            sumOfSquares[r] = new double[size];
        }

        // Rows are filled in order, so each row's generator yields its samples' noise in sample order.
        model.Gradients(ReluGradientMode.Standard, model.InputName, block.Count * samples,
            (e, input, cotangent) =>
            {
                int r = e / samples;
                var row = block[r];
                for (int i = 0; i < size; i++) input[i] = (float)(row.Input[i] + sigma[r] * randoms[r].NextGaussian());
                row.Cotangent.CopyTo(cotangent);
            },
            (e, result) =>
            {
                int r = e / samples;
                var gradient = result.Gradient(model.InputName);
                for (int i = 0; i < size; i++)
                {
                    sum[r][i] += gradient[i];
                    sumOfSquares[r][i] += (double)gradient[i] * gradient[i];
                }
            });

        for (int r = 0; r < block.Count; r++)
        {
            var attribution = new float[size];
            for (int i = 0; i < size; i++)
            {
                double mean = sum[r][i] / samples, meanOfSquares = sumOfSquares[r][i] / samples;
                attribution[i] = (float)(_options.Variant switch
                {
                    SmoothGradVariant.SmoothGrad => mean,
                    SmoothGradVariant.SmoothGradSquared => meanOfSquares,
                    _ => Math.Max(0, meanOfSquares - mean * mean),
                });
            }
            outputs[r][0] = attribution;
        }
    }
}
