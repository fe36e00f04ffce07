using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Report;

/// <summary>Runs a fitted explanation stage over chosen rows and reads its columns back as plain values.</summary>
internal static class StageReader
{
    internal sealed record ShapRow(long Position, double BaseValue, double Output, double[] Values, double[] Features);

    internal sealed record LimeRow(long Position, double Intercept, double LocalPrediction, double Score, string? Class, double[] Weights, double[] Features);

    public static (IReadOnlyList<string> Names, List<ShapRow> Rows) ReadShap(ITransformer stage, IDataView data, IReadOnlyList<long> positions,
        string featureColumn, ShapColumns columns, Action<int> rowsDone, CancellationToken cancellationToken)
    {
        var subset = new RowSubsetDataView(data, positions);
        var output = stage.Transform(subset);
        var values = Require(output.Schema, columns.Values, "SHAP values");
        var baseValue = Require(output.Schema, columns.BaseValue, "SHAP base value");
        var explained = Require(output.Schema, columns.Output, "explained model output");
        var features = Require(output.Schema, featureColumn, "feature");
        if (explained.Type is VectorDataViewType)
            throw new NotSupportedException($"Column '{columns.Output}' holds one output per class; name the column with the single output the SHAP values add up to (ShapColumns.Output).");

        var names = SlotNames.Of(values);
        var rows = new List<ShapRow>(subset.Positions.Count);
        using var cursor = output.GetRowCursor([values, baseValue, explained, features]);
        var readValues = RowValues.CreateReader(cursor, values);
        var readBase = RowValues.CreateReader(cursor, baseValue);
        var readOutput = RowValues.CreateReader(cursor, explained);
        var readFeatures = RowValues.CreateReader(cursor, features);
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = new ShapRow(subset.Positions[(int)cursor.Position], Convert.ToDouble(readBase()), Convert.ToDouble(readOutput()),
                ToDoubles(readValues()), ToDoubles(readFeatures()));
            if (row.Values.Length != row.Features.Length)
                throw new InvalidOperationException(
                    $"Column '{columns.Values}' has {row.Values.Length} values per row but the model reads {row.Features.Length} features from '{featureColumn}'; the report needs slot-level SHAP values.");
            rows.Add(row);
            rowsDone(rows.Count);
        }
        return (names, rows);
    }

    public static (IReadOnlyList<string> Names, List<LimeRow> Rows) ReadLime(ITransformer stage, IDataView data, IReadOnlyList<long> positions,
        string featureColumn, LimeColumns columns, Action<int> rowsDone, CancellationToken cancellationToken)
    {
        var subset = new RowSubsetDataView(data, positions);
        var output = stage.Transform(subset);
        var weights = Require(output.Schema, columns.Weights, "LIME weights");
        var intercept = Require(output.Schema, columns.Intercept, "LIME intercept");
        var local = Require(output.Schema, columns.LocalPrediction, "LIME local prediction");
        var score = Require(output.Schema, columns.Score, "LIME score");
        var explainedClass = output.Schema.GetColumnOrNull(columns.Class);
        var features = Require(output.Schema, featureColumn, "feature");

        var names = SlotNames.Of(weights);
        var rows = new List<LimeRow>(subset.Positions.Count);
        using var cursor = output.GetRowCursor(new[] { weights, intercept, local, score, features, explainedClass }.OfType<DataViewSchema.Column>());
        var readWeights = RowValues.CreateReader(cursor, weights);
        var readIntercept = RowValues.CreateReader(cursor, intercept);
        var readLocal = RowValues.CreateReader(cursor, local);
        var readScore = RowValues.CreateReader(cursor, score);
        var readClass = explainedClass is { } c ? ColumnText.Reader(cursor, c) : null;
        var readFeatures = RowValues.CreateReader(cursor, features);
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            rows.Add(new LimeRow(subset.Positions[(int)cursor.Position], Convert.ToDouble(readIntercept()), Convert.ToDouble(readLocal()),
                Convert.ToDouble(readScore()), readClass?.Invoke(), ToDoubles(readWeights()), ToDoubles(readFeatures())));
            rowsDone(rows.Count);
        }
        return (names, rows);
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, string what)
        => schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The stage's output has no {what} column '{name}'. Its columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");

    private static double[] ToDoubles(object value) => value switch
    {
        float[] v => v.Select(x => (double)x).ToArray(),
        double[] v => v,
        float f => [f],
        double d => [d],
        _ => throw new InvalidOperationException($"Expected numbers, got {value.GetType().Name}."),
    };
}
