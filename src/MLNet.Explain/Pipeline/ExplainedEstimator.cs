using Microsoft.ML;

namespace MLNet.Explain.Pipeline;

/// <summary>A pipeline followed by an explanation stage: fits the pipeline, then explains the fitted model.</summary>
public sealed class ExplainedEstimator<TExplanation> : IEstimator<TExplanation> where TExplanation : ExplanationTransformer
{
    private readonly IEstimator<ITransformer> _pipeline;
    private readonly IExplanationEstimator<TExplanation> _explanation;

    internal ExplainedEstimator(IEstimator<ITransformer> pipeline, IExplanationEstimator<TExplanation> explanation)
    {
        _pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        _explanation = explanation ?? throw new ArgumentNullException(nameof(explanation));
    }

    /// <inheritdoc />
    public TExplanation Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var model = _pipeline.Fit(input);
        return _explanation.Fit(model, input);
    }

    /// <summary>
    /// The pipeline's output schema. The attribution columns depend on the fitted model (their sizes and slot names),
    /// so they are known only after fitting: see <see cref="ITransformer.GetOutputSchema"/> of the fitted stage.
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _pipeline.GetOutputSchema(inputSchema);
}
