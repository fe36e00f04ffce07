using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Report;

/// <summary>
/// One streaming pass over the model's output: every row's score (to pick rows to explain), the label counts, and the
/// feature vectors and predictions of the rows the report keeps.
/// </summary>
internal sealed class ScoredRows
{
    private ScoredRows() { }

    public long RowCount { get; private set; }

    /// <summary>The first score of every row (the margin of binary models, the score of regression, class 0 for multiclass).</summary>
    public List<double> Scores { get; } = [];

    public Dictionary<string, long> LabelCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Kept rows by position.</summary>
    public Dictionary<long, KeptRow> Kept { get; } = [];

    internal sealed record KeptRow(float[] Features, double[] Score, double? Probability, string? PredictedLabel, string? Label);

    /// <summary>Reads every row; keeps features and predictions of the rows at positions in <paramref name="keep"/> (all rows when null).</summary>
    public static ScoredRows Read(ModelParts parts, IDataView data, string labelColumn, ISet<long>? keep, CancellationToken cancellationToken)
    {
        var scored = parts.Model.Transform(data);
        var schema = scored.Schema;
        var features = schema[parts.FeatureColumnName];
        var score = schema.GetColumnOrNull("Score");
        var probability = schema.GetColumnOrNull("Probability");
        var predicted = schema.GetColumnOrNull("PredictedLabel");
        var label = schema.GetColumnOrNull(labelColumn);
        var active = new[] { features, score, probability, predicted, label }.OfType<DataViewSchema.Column>().ToList();

        var result = new ScoredRows();
        using var cursor = scored.GetRowCursor(active);
        var readFeatures = RowValues.CreateReader(cursor, features);
        var readScore = score is { } s ? RowValues.CreateReader(cursor, s) : null;
        var readProbability = probability is { Type: NumberDataViewType } p ? RowValues.CreateReader(cursor, p) : null;
        var readPredicted = predicted is { } pl && IsScalar(pl) ? ColumnText.Reader(cursor, pl) : null;
        var readLabel = label is { } l && IsScalar(l) ? ColumnText.Reader(cursor, l) : null;
        bool countLabels = parts.Kind is PredictionKind.BinaryClassification or PredictionKind.MulticlassClassification && readLabel is not null;

        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            long position = result.RowCount++;
            double[] scores = readScore is null ? [] : ToDoubles(readScore());
            result.Scores.Add(scores.Length > 0 ? scores[0] : double.NaN);
            string? labelText = readLabel?.Invoke();
            if (countLabels)
                result.LabelCounts[labelText!] = result.LabelCounts.GetValueOrDefault(labelText!) + 1;
            if (keep is null || keep.Contains(position))
            {
                var vector = ((float[])readFeatures()).ToArray();
                double? prob = readProbability is null ? null : Convert.ToDouble(readProbability());
                result.Kept[position] = new KeptRow(vector, scores, prob, readPredicted?.Invoke(), labelText);
            }
        }
        return result;
    }

    /// <summary><paramref name="count"/> evenly spaced positions among <paramref name="rowCount"/> rows (all when fewer).</summary>
    public static HashSet<long> SamplePositions(long rowCount, int count)
    {
        if (rowCount <= count) return Enumerable.Range(0, (int)rowCount).Select(i => (long)i).ToHashSet();
        return Enumerable.Range(0, count).Select(i => (long)(i * (double)rowCount / count)).ToHashSet();
    }

    private static bool IsScalar(DataViewSchema.Column column) => column.Type is not VectorDataViewType;

    private static double[] ToDoubles(object value) => value switch
    {
        float f => [f],
        double d => [d],
        float[] v => v.Select(x => (double)x).ToArray(),
        double[] v => v,
        _ => [Convert.ToDouble(value)],
    };
}
