using Microsoft.ML;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain;

/// <summary>
/// Permutation feature importance as an explanation stage: fitting measures how much the model's metric drops when
/// each feature (slot, group of slots, or raw input column) is randomly permuted. The fitted stage exposes the
/// <see cref="PermutationImportanceTransformer.Result"/>; its Transform passes the model's predictions through.
/// </summary>
public sealed class PermutationImportanceEstimator : IExplanationEstimator<PermutationImportanceTransformer>
{
    private readonly MLContext _context;
    private readonly PermutationImportanceOptions _options;

    internal PermutationImportanceEstimator(MLContext context, PermutationImportanceOptions options)
    {
        _context = context;
        _options = options;
        options.Validate();
    }

    /// <summary>Computes the importances of <paramref name="model"/>'s features on <paramref name="data"/> (or Options.EvaluationData).</summary>
    public PermutationImportanceTransformer Fit(ITransformer model, IDataView data)
        => new(model, PermutationImportanceRun.Compute(_context, model, _options.EvaluationData ?? data, _options));
}

/// <summary>A fitted permutation importance stage: the explained model plus the importances computed at Fit.</summary>
public sealed class PermutationImportanceTransformer : ExplanationTransformer
{
    internal PermutationImportanceTransformer(ITransformer model, PermutationImportanceResult result) : base(model)
        => Result = result;

    public PermutationImportanceResult Result { get; }

    /// <summary>The features, most important first (same as <c>Result.Features</c>).</summary>
    public IReadOnlyList<FeatureImportance> Importances => Result.Features;

    /// <summary>Permutation importance is global: no per-row columns.</summary>
    protected override RowExplainer? RowExplainer => null;
}

/// <summary>The permutation importance entry point on <c>mlContext.Explain()</c>.</summary>
public static class PermutationImportanceCatalog
{
    /// <summary>
    /// Permutation feature importance: append it to a pipeline (<c>pipeline.Append(mlContext.Explain().PermutationImportance(options))</c>)
    /// or fit it against a trained model (<c>.Fit(model, data)</c>). See <see cref="PermutationImportanceOptions"/> for defaults.
    /// </summary>
    public static PermutationImportanceEstimator PermutationImportance(this ExplainCatalog catalog, PermutationImportanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new PermutationImportanceEstimator(catalog.Context, options ?? new PermutationImportanceOptions());
    }
}
