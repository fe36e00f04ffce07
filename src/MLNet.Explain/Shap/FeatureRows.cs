using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Shap;

/// <summary>Reads the predictor's feature vectors of a data set, featurized like the model's input.</summary>
internal static class FeatureRows
{
    /// <summary>
    /// <paramref name="data"/> (in the model's input schema) featurized by the model's featurizer. A data view that
    /// already holds the feature column with the right type is used as it is.
    /// </summary>
    public static IDataView Featurize(ModelParts parts, IDataView data, string role)
    {
        DataViewSchema featurized;
        try
        {
            featurized = parts.Featurizer.GetOutputSchema(data.Schema);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            if (data.Schema.GetColumnOrNull(parts.FeatureColumnName) is { } features && features.Type.Equals(parts.FeatureColumn.Type))
                return data;
            throw new ArgumentException(
                $"The {role} does not have the columns the model reads: {e.Message} Columns of the {role}: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}.", e);
        }
        var column = featurized.GetColumnOrNull(parts.FeatureColumnName)
            ?? throw new ArgumentException($"The {role} has no column '{parts.FeatureColumnName}' after featurization; the model's predictor reads that column.");
        if (!column.Type.Equals(parts.FeatureColumn.Type))
            throw new ArgumentException($"Column '{parts.FeatureColumnName}' of the {role} has type {column.Type} after featurization; the model expects {parts.FeatureColumn.Type}.");
        return parts.Featurizer.Transform(data);
    }

    /// <summary>The dense feature vectors of <paramref name="featurized"/>, streamed in row order.</summary>
    public static IEnumerable<float[]> Read(IDataView featurized, string featureColumn, long? maxRows = null)
    {
        var column = featurized.Schema[featureColumn];
        using var cursor = featurized.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        long count = 0;
        while ((maxRows is null || count < maxRows) && cursor.MoveNext())
        {
            getter(ref buffer);
            var row = new float[buffer.Length];
            buffer.CopyTo(row);
            count++;
            yield return row;
        }
    }
}
