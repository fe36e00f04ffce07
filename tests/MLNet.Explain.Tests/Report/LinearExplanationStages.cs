using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Tests.Report;

/// <summary>
/// Explanation stages with exact known answers for linear models, so report tests can check numbers end to end:
/// SHAP of a linear score with independent features is wᵢ(xᵢ − E[xᵢ]) with base value w·E[x] + b, and the best local
/// linear surrogate of a linear score is the model itself (weights w, intercept b).
/// </summary>
internal static class LinearExplanation
{
    public static (float[] Weights, float Bias) Coefficients(ModelParts parts)
    {
        object model = parts.Predictor.Model;
        var linear = (LinearModelParameters)(model is CalibratedModelParametersBase calibrated ? calibrated.SubModel : model);
        return (linear.Weights.ToArray(), linear.Bias);
    }

    public static float[] FeatureMeans(ModelParts parts, IDataView data)
    {
        var rows = parts.Featurizer.Transform(data).GetColumn<float[]>(parts.FeatureColumnName).ToList();
        return Enumerable.Range(0, parts.FeatureCount).Select(f => (float)rows.Average(r => (double)r[f])).ToArray();
    }
}

/// <summary>Exact linear SHAP; <paramref name="distortion"/> scales the values to simulate an explainer that is not additive.</summary>
internal sealed class LinearShapStage(float distortion = 1f) : IExplanationEstimator<LinearStageTransformer>
{
    public LinearStageTransformer Fit(ITransformer model, IDataView data)
    {
        var parts = ModelParts.Of(model, data.Schema);
        var (weights, bias) = LinearExplanation.Coefficients(parts);
        var means = LinearExplanation.FeatureMeans(parts, data);
        float baseValue = bias + weights.Zip(means, (w, m) => w * m).Sum();
        return new LinearStageTransformer(model, parts,
            [ExplanationColumn.Vector("ShapValues", parts.FeatureNames), ExplanationColumn.Scalar("ShapBaseValue"), ExplanationColumn.Scalar("ShapOutput")],
            x => [x.Select((v, f) => distortion * weights[f] * (v - means[f])).ToArray(), baseValue, bias + weights.Zip(x, (w, v) => w * v).Sum()]);
    }
}

/// <summary>A LIME stand-in whose surrogate is the linear model itself; <paramref name="fidelity"/> sets each row's score.</summary>
internal sealed class LinearLimeStage(Func<float[], float> fidelity) : IExplanationEstimator<LinearStageTransformer>
{
    public LinearStageTransformer Fit(ITransformer model, IDataView data)
    {
        var parts = ModelParts.Of(model, data.Schema);
        var (weights, bias) = LinearExplanation.Coefficients(parts);
        return new LinearStageTransformer(model, parts,
            [ExplanationColumn.Vector("LimeWeights", parts.FeatureNames), ExplanationColumn.Scalar("LimeIntercept"),
             ExplanationColumn.Scalar("LimeLocalPrediction"), ExplanationColumn.Scalar("LimeScore")],
            x => [weights, bias, bias + weights.Zip(x, (w, v) => w * v).Sum(), fidelity(x)]);
    }
}

internal sealed class LinearStageTransformer : ExplanationTransformer
{
    public LinearStageTransformer(ITransformer model, ModelParts parts, IReadOnlyList<ExplanationColumn> columns, Func<float[], object[]> explain)
        : base(model) => RowExplainer = new Explainer(parts.FeatureColumnName, columns, explain);

    protected override RowExplainer RowExplainer { get; }

    protected override void SaveState(BinaryWriter writer)
        => throw new NotSupportedException("The report tests build this stage in memory and never save it.");

    private sealed class Explainer(string featureColumn, IReadOnlyList<ExplanationColumn> columns, Func<float[], object[]> explain) : RowExplainer
    {
        public override IReadOnlyList<string> InputColumns { get; } = [featureColumn];
        public override IReadOnlyList<ExplanationColumn> OutputColumns => columns;

        public override void Explain(RowBlock block, object[][] outputs)
        {
            for (int row = 0; row < block.Count; row++)
                explain(block.GetVector(row, featureColumn)).CopyTo(outputs[row], 0);
        }
    }
}
