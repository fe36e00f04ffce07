using Microsoft.ML;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Tests.Pipeline;

/// <summary>A minimal explanation stage with a known answer: each feature slot times a factor.</summary>
internal sealed class ScaledFeaturesStage(float factor) : IExplanationEstimator<ScaledFeaturesTransformer>
{
    public const int Block = 16;

    public ScaledFeaturesTransformer Fit(ITransformer model, IDataView data)
        => new(model, ModelParts.Of(model, data.Schema), factor);
}

internal sealed class ScaledFeaturesTransformer : ExplanationTransformer
{
    private readonly Explainer _explainer;

    public ScaledFeaturesTransformer(ITransformer model, ModelParts parts, float factor) : base(model)
        => _explainer = new Explainer(parts, factor);

    public int RowsExplained => _explainer.RowsExplained;

    protected override RowExplainer RowExplainer => _explainer;

    private sealed class Explainer(ModelParts parts, float factor) : RowExplainer
    {
        private int _rowsExplained;

        public int RowsExplained => _rowsExplained;
        public override IReadOnlyList<string> InputColumns { get; } = [parts.FeatureColumnName];
        public override IReadOnlyList<ExplanationColumn> OutputColumns { get; } = [ExplanationColumn.Vector("Scaled", parts.FeatureNames)];
        public override int BlockSize => ScaledFeaturesStage.Block;

        public override void Explain(RowBlock block, object[][] outputs)
        {
            for (int row = 0; row < block.Count; row++)
                outputs[row][0] = block.GetVector(row, parts.FeatureColumnName).Select(v => v * factor).ToArray();
            Interlocked.Add(ref _rowsExplained, block.Count);
        }
    }
}
