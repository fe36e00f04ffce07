using MLNet.Explain;
using MLNet.Explain.Pipeline;

namespace Microsoft.ML;

/// <summary>
/// The catalog of explanation stages, reached through <c>mlContext.Explain()</c>.
/// Each method family adds its stages to this catalog as extension methods, so the Onnx package
/// can add gradient stages without the core depending on ONNX Runtime.
/// </summary>
public sealed class ExplainCatalog
{
    internal ExplainCatalog(MLContext context) => Context = context;

    /// <summary>The context whose seed and logging the stages use.</summary>
    public MLContext Context { get; }
}

/// <summary>Entry points of MLNet.Explain on <see cref="MLContext"/> and on ML.NET pipelines.</summary>
public static class ExplainCatalogExtensions
{
    /// <summary>The catalog of explanation stages.</summary>
    public static ExplainCatalog Explain(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new ExplainCatalog(mlContext);
    }

    /// <summary>
    /// Appends an explanation stage to a pipeline. Fitting the result fits <paramref name="pipeline"/> first and then
    /// fits the explanation stage against the fitted model and the same data.
    /// </summary>
    /// <remarks>
    /// Explanation stages are deliberately not <see cref="IEstimator{TTransformer}"/>: an estimator in an ML.NET chain
    /// only sees the previous stage's output data, while an explanation needs the fitted model itself.
    /// </remarks>
    public static ExplainedEstimator<TExplanation> Append<TExplanation>(
        this IEstimator<ITransformer> pipeline, IExplanationEstimator<TExplanation> explanation)
        where TExplanation : ExplanationTransformer
        => new(pipeline, explanation);
}
