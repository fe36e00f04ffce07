using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>
/// The weights and biases of the ML.NET linear predictor at the end of a pipeline (scores = W · features + b), so the predictor can be appended
/// to the ONNX graph that computes its features and attributions flow from the predictor's scores to the pixels.
/// </summary>
internal sealed class LinearHead
{
    private LinearHead(float[] weights, float[] biases, int classCount, int featureCount)
    {
        Weights = weights;
        Biases = biases;
        ClassCount = classCount;
        FeatureCount = featureCount;
    }

    /// <summary>Row-major [classes, features].</summary>
    public float[] Weights { get; }

    public float[] Biases { get; }

    public int ClassCount { get; }

    public int FeatureCount { get; }

    public static LinearHead Of(ITransformer model, DataViewSchema inputSchema)
    {
        var parts = ModelParts.Of(model, inputSchema);
        return FromParameters(parts.Predictor.Model, parts.FeatureCount);
    }

    private static LinearHead FromParameters(object parameters, int featureCount)
    {
        switch (parameters)
        {
            case LinearMulticlassModelParametersBase multiclass:
            {
                VBuffer<float>[] weights = [];
                multiclass.GetWeights(ref weights, out int classes);
                var dense = new float[classes * featureCount];
                for (int k = 0; k < classes; k++) weights[k].DenseValues().ToArray().CopyTo(dense, k * featureCount);
                return new LinearHead(dense, multiclass.GetBiases().ToArray(), classes, featureCount);
            }
            case LinearModelParameters linear:
                return new LinearHead(linear.Weights.ToArray(), [linear.Bias], 1, featureCount);
            default:
                // Calibrated binary models wrap the linear model (CalibratedModelParametersBase<TSubModel, TCalibrator>.SubModel); the explained score is the uncalibrated one.
                if (parameters.GetType().GetProperty("SubModel")?.GetValue(parameters) is { } subModel)
                    return FromParameters(subModel, featureCount);
                throw new NotSupportedException(
                    $"{nameof(SaliencyOptions.ExplainPredictorHead)} needs a linear predictor (e.g. SdcaMaximumEntropy, LbfgsMaximumEntropy, SdcaNonCalibrated, LbfgsLogisticRegression); the pipeline's predictor is {parameters.GetType().Name}.");
        }
    }
}
