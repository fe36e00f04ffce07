using Microsoft.ML;

namespace MLNet.Explain.Pipeline;

/// <summary>
/// An explanation stage before fitting. It is fitted against a trained model and data, either inside a pipeline
/// (<c>pipeline.Append(mlContext.Explain().PermutationImportance(...))</c>) or on its own with <see cref="Fit"/>.
/// </summary>
public interface IExplanationEstimator<out TExplanation> where TExplanation : ExplanationTransformer
{
    /// <summary>Fits the explanation of <paramref name="model"/> on <paramref name="data"/> (the model's input data).</summary>
    TExplanation Fit(ITransformer model, IDataView data);
}
