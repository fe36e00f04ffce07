using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Options of Integrated Gradients (Sundararajan et al. 2017).</summary>
public sealed class IntegratedGradientsOptions : SaliencyOptions
{
    public override string OutputColumnName { get; set; } = "IntegratedGradients";

    /// <summary>The scalar column holding each row's completeness error: Σ attributions − (f(input) − f(baseline)).</summary>
    public string DeltaColumnName { get; set; } = "IntegratedGradientsDelta";

    /// <summary>Points on the straight path from the baseline to the input.</summary>
    public int Steps { get; set; } = 50;

    /// <summary>Where the points lie and how they are weighted; Gauss–Legendre reaches a small delta with far fewer steps than Riemann sums.</summary>
    public IntegrationRule Rule { get; set; } = IntegrationRule.GaussLegendre;

    public Baseline Baseline { get; set; } = Baseline.Zeros;
}

/// <summary>
/// Integrated Gradients: (x − b) · Σₖ wₖ ∇f(b + αₖ(x − b)). The steps × rows path points never exist all at once: they are generated while the
/// runs consume them, <see cref="SaliencyOptions.BatchSize"/> points per run, and their gradients are folded into one accumulator per row
/// (captum #245, #538: expanding the batch to steps × rows exhausts memory).
/// </summary>
internal sealed class IntegratedGradients : SaliencyMethod
{
    private readonly IntegratedGradientsOptions _options;
    private readonly double[] _alphas, _weights;

    public IntegratedGradients(IntegratedGradientsOptions options)
    {
        _options = options;
        (_alphas, _weights) = Quadrature.On01(options.Rule, options.Steps);
    }

    public override SaliencyOptions Options => _options;

    public override IEnumerable<string> ExtraInputColumns => _options.Baseline.ColumnName is { } c ? [c] : [];

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model)
        => [ExplanationColumn.Tensor(_options.OutputColumnName, model.InputShape), ExplanationColumn.Scalar(_options.DeltaColumnName)];

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        int steps = _alphas.Length, size = model.InputSize;
        var baselines = new float[block.Count][];
        var accumulated = new double[block.Count][];
        for (int r = 0; r < block.Count; r++)
        {
            baselines[r] = _options.Baseline.For(block[r], model.InputShape);
            accumulated[r] = new double[size];
        }

        // f(x) and f(baseline) of every row in one pass of forward runs (the targets may need f(x) too).
        var baselineOutputs = block.ForwardWith(baselines);
        var atBaseline = Enumerable.Range(0, block.Count).Select(r => Dot(baselineOutputs[r], block[r].Cotangent)).ToArray();

        model.Gradients(ReluGradientMode.Standard, model.InputName, block.Count * steps,
            (e, input, cotangent) =>
            {
                int r = e / steps;
                float alpha = (float)_alphas[e % steps];
                var x = block[r].Input;
                var b = baselines[r];
                for (int i = 0; i < size; i++) input[i] = b[i] + alpha * (x[i] - b[i]);
                block[r].Cotangent.CopyTo(cotangent);
            },
            (e, result) =>
            {
                int r = e / steps;
                double weight = _weights[e % steps];
                var gradient = result.Gradient(model.InputName);
                var sum = accumulated[r];
                for (int i = 0; i < size; i++) sum[i] += weight * gradient[i];
            });

        for (int r = 0; r < block.Count; r++)
        {
            var x = block[r].Input;
            var b = baselines[r];
            var attribution = new float[size];
            double total = 0;
            for (int i = 0; i < size; i++)
            {
                double a = (x[i] - (double)b[i]) * accumulated[r][i];
                attribution[i] = (float)a;
                total += a;
            }
            outputs[r][0] = attribution;
            outputs[r][1] = (float)(total - (block[r].TargetValue - atBaseline[r]));
        }
    }
}
