using Microsoft.ML;

namespace MLNet.Explain.Pipeline;

/// <summary>Saving fitted explanation stages with <c>mlContext.Model.Save</c>.</summary>
internal static class ModelPersistence
{
    public static void Save(ExplanationTransformer stage, ModelSaveContext ctx)
        => throw new InvalidOperationException(
            $"Saving a model that contains the explanation stage {stage.GetType().Name} is not available in this version; save the explained model ({nameof(ExplanationTransformer.Model)}) instead.");
}
