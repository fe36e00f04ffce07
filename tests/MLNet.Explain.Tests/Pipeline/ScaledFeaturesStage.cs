using System.Runtime.CompilerServices;
using Microsoft.ML;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Tests.Pipeline;

/// <summary>A minimal explanation stage with a known answer: each feature slot times a factor.</summary>
internal sealed class ScaledFeaturesStage(float factor) : IExplanationEstimator<ScaledFeaturesTransformer>
{
    public const int Block = 16;

    public ScaledFeaturesTransformer Fit(ITransformer model, IDataView data)
    {
        var parts = ModelParts.Of(model, data.Schema);
        return new(model, parts.FeatureColumnName, parts.FeatureNames, factor);
    }
}

internal sealed class ScaledFeaturesTransformer : ExplanationTransformer
{
    /// <summary>The stable name this stage is saved under.</summary>
    public const string StageName = "MLNet.Explain.Tests.ScaledFeatures";

    private readonly Explainer _explainer;

    public ScaledFeaturesTransformer(ITransformer model, string featureColumn, IReadOnlyList<string> featureNames, float factor) : base(model)
        => _explainer = new Explainer(featureColumn, featureNames, factor);

    public float Factor => _explainer.Factor;
    public int RowsExplained => _explainer.RowsExplained;

    protected override RowExplainer RowExplainer => _explainer;

    protected override void SaveState(BinaryWriter writer)
    {
        writer.Write(_explainer.Factor);
        writer.Write(_explainer.FeatureColumn);
        writer.WriteStrings(_explainer.FeatureNames);
    }

    public static ScaledFeaturesTransformer Load(ITransformer model, BinaryReader reader)
    {
        float factor = reader.ReadSingle();
        string featureColumn = reader.ReadString();
        return new(model, featureColumn, reader.ReadStrings(), factor);
    }

    // How an assembly outside MLNet.Explain registers its stages: once, from its module initializer.
    [ModuleInitializer]
    internal static void RegisterLoader() => ExplanationStageRegistry.Register<ScaledFeaturesTransformer>(StageName, Load);

    private sealed class Explainer(string featureColumn, IReadOnlyList<string> featureNames, float factor) : RowExplainer
    {
        private int _rowsExplained;

        public float Factor => factor;
        public string FeatureColumn => featureColumn;
        public IReadOnlyList<string> FeatureNames => featureNames;
        public int RowsExplained => _rowsExplained;
        public override IReadOnlyList<string> InputColumns { get; } = [featureColumn];
        public override IReadOnlyList<ExplanationColumn> OutputColumns { get; } = [ExplanationColumn.Vector("Scaled", featureNames)];
        public override int BlockSize => ScaledFeaturesStage.Block;

        public override void Explain(RowBlock block, object[][] outputs)
        {
            for (int row = 0; row < block.Count; row++)
                outputs[row][0] = block.GetVector(row, featureColumn).Select(v => v * factor).ToArray();
            Interlocked.Add(ref _rowsExplained, block.Count);
        }
    }
}
