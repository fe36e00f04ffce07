using Microsoft.ML.Calibrators;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>The prediction task of a model's predictor.</summary>
public enum PredictionKind
{
    BinaryClassification,
    MulticlassClassification,
    Regression,
    Ranking,
}

/// <summary>
/// The parts of a trained pipeline that explanations need: the featurization before the predictor, the predictor,
/// its feature column and task, and the feature column's type and slot names on the given input schema.
/// </summary>
public sealed class ModelParts
{
    private ModelParts(ITransformer model, ITransformer featurizer, ISingleFeaturePredictionTransformer<object> predictor,
        PredictionKind kind, DataViewSchema.Column featureColumn)
    {
        Model = model;
        Featurizer = featurizer;
        Predictor = predictor;
        Kind = kind;
        FeatureColumn = featureColumn;
        FeatureNames = SlotNames.Of(featureColumn);
    }

    public ITransformer Model { get; }

    /// <summary>Every transformer before the predictor (an empty chain when the model is the predictor alone).</summary>
    public ITransformer Featurizer { get; }

    public ISingleFeaturePredictionTransformer<object> Predictor { get; }
    public PredictionKind Kind { get; }

    /// <summary>The calibrator that turns a binary predictor's score into its probability; null for uncalibrated predictors.</summary>
    public ICalibrator? Calibrator => (Predictor.Model as CalibratedModelParametersBase)?.Calibrator;

    /// <summary>The predictor's feature column as the featurizer produces it from the input schema.</summary>
    public DataViewSchema.Column FeatureColumn { get; }

    public string FeatureColumnName => FeatureColumn.Name;

    /// <summary>Number of feature slots the predictor reads.</summary>
    public int FeatureCount => FeatureNames.Count;

    /// <summary>Unique names of the feature slots (see <see cref="SlotNames"/>).</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Finds the last predictor in <paramref name="model"/> and describes it for data with <paramref name="inputSchema"/>.</summary>
    public static ModelParts Of(ITransformer model, DataViewSchema inputSchema)
    {
        var (featurizer, predictor) = FindPredictor(model);
        var featurized = featurizer.GetOutputSchema(inputSchema);
        var featureColumn = featurized.GetColumnOrNull(predictor.FeatureColumnName)
            ?? throw new ArgumentException($"The data has no column '{predictor.FeatureColumnName}', the predictor's feature column (after featurization).", nameof(inputSchema));
        return OfFeatureColumn(model, featureColumn);
    }

    /// <summary>
    /// Describes the last predictor in <paramref name="model"/> when its feature column is already known, as for a
    /// loaded explanation stage, which gets no input schema.
    /// </summary>
    public static ModelParts OfFeatureColumn(ITransformer model, DataViewSchema.Column featureColumn)
    {
        var (featurizer, predictor) = FindPredictor(model);
        if (featureColumn.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 })
            throw new ArgumentException($"Feature column '{featureColumn.Name}' has type {featureColumn.Type}; a numeric vector of known size was expected.", nameof(featureColumn));
        return new ModelParts(model, featurizer, predictor, KindOf(predictor), featureColumn);
    }

    private static (ITransformer Featurizer, ISingleFeaturePredictionTransformer<object> Predictor) FindPredictor(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var transformers = Flatten(model).ToList();
        int index = transformers.FindLastIndex(t => t is ISingleFeaturePredictionTransformer<object>);
        if (index < 0)
            throw new ArgumentException(
                $"The model has no predictor (a trained ML.NET trainer's prediction transformer); it contains: {string.Join(", ", transformers.Select(t => t.GetType().Name))}. Explanations need a model that makes predictions.",
                nameof(model));
        var predictor = (ISingleFeaturePredictionTransformer<object>)transformers[index];
        return (new TransformerChain<ITransformer>(transformers.Take(index).ToArray()), predictor);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model)
        => model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    private static PredictionKind KindOf(ISingleFeaturePredictionTransformer<object> predictor)
    {
        var type = predictor.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (definition == typeof(BinaryPredictionTransformer<>)) return PredictionKind.BinaryClassification;
        if (definition == typeof(MulticlassPredictionTransformer<>)) return PredictionKind.MulticlassClassification;
        if (definition == typeof(RegressionPredictionTransformer<>)) return PredictionKind.Regression;
        if (definition == typeof(RankingPredictionTransformer<>)) return PredictionKind.Ranking;
        throw new NotSupportedException($"Predictor {type.Name} is not supported: explanations support binary, multiclass, regression and ranking predictors.");
    }
}
