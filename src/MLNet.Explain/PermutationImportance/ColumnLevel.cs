using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Column-level evaluation: rows of the raw input are buffered once; a permutation serves the permuted columns from
/// other rows (<see cref="ColumnPermutation"/>, nothing is copied) and the whole pipeline scores the result, so a
/// categorical or text column is permuted before its one-hot encoding or featurization.
/// </summary>
internal static class ColumnLevel
{
    private const string ScoreColumn = "Score";

    /// <summary>The input columns the model's score depends on, except the label: the default features at column level.</summary>
    public static IReadOnlyList<string> DefaultColumns(ModelParts parts, DataViewSchema input, string label)
    {
        var score = ScoreOf(parts, input);
        var needed = parts.Model.IsRowToRowMapper
            ? parts.Model.GetRowToRowMapper(input).GetDependencies([score]).Select(c => c.Name)
            : input.Where(c => !c.IsHidden).Select(c => c.Name);
        return needed.Where(name => name != label).Distinct().ToArray();
    }

    public static EvaluationSet Build(ModelParts parts, IDataView data, PermutationImportanceOptions options,
        IReadOnlyList<(string Name, string[] Columns)> features, int seed)
    {
        var input = data.Schema;
        var output = parts.Model.GetOutputSchema(input);
        var score = ScoreOf(parts, input);
        var label = EvaluationLabels.Find(output, options.LabelColumnName, "the model's output");
        EvaluationLabels.CheckType(label, parts.Kind);
        foreach (var (name, members) in features)
            foreach (var column in members)
            {
                if (input.GetColumnOrNull(column) is not { IsHidden: false })
                    throw new ArgumentException(
                        $"Column '{column}'{(name == column ? "" : $" of group '{name}'")} is not in the data. Columns: {string.Join(", ", input.Where(c => !c.IsHidden).Select(c => c.Name))}.");
                if (column == options.LabelColumnName)
                    throw new ArgumentException($"Column '{column}' is the label; permuting it would not measure a feature's importance.");
            }

        // Buffer what the model reads to compute the score and the label, plus the permuted columns.
        var needed = parts.Model.IsRowToRowMapper
            ? parts.Model.GetRowToRowMapper(input).GetDependencies([score, label]).Select(c => c.Name)
            : input.Where(c => !c.IsHidden).Select(c => c.Name);
        var buffered = needed.Concat(features.SelectMany(f => f.Columns)).ToHashSet();
        var columns = input.Where(c => !c.IsHidden && buffered.Contains(c.Name)).ToArray();
        var builder = new DataViewSchema.Builder();
        foreach (var column in columns)
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        var schema = builder.ToSchema();

        using var cursor = data.GetRowCursor(columns);
        var readers = columns.Select(c => RowValues.CreateReader(cursor, c)).ToArray();
        var sample = RowSample.Read(cursor, () => (Row: cursor.Position, Values: readers.Select(read => read()).ToArray()), options.MaxRows, seed, options.CancellationToken);
        var rows = sample.Select(s => s.Values).ToList();
        if (rows.Count == 0)
            throw new ArgumentException("The data has no rows; permutation importance needs labelled rows to evaluate the model on.", nameof(data));

        var featureColumns = features.Select(f => f.Columns.Select(name => schema[name].Index).ToHashSet()).ToArray();
        var scorer = new ColumnScorer(parts.Model, schema, rows, featureColumns, ScoreCount(score), options.CancellationToken);
        var labels = scorer.ReadBaseline(label.Name, parts.Kind, sample.Select(s => s.Row).ToArray());
        return new EvaluationSet(labels, scorer, features.Select(f => f.Name).ToArray());
    }

    private static DataViewSchema.Column ScoreOf(ModelParts parts, DataViewSchema input)
        => parts.Model.GetOutputSchema(input).GetColumnOrNull(ScoreColumn)
           ?? throw new ArgumentException($"The model's output has no '{ScoreColumn}' column; column-level permutation importance reads the predictor's score from it.");

    private static int ScoreCount(DataViewSchema.Column score) => score.Type is VectorDataViewType vector ? vector.Size : 1;

    private sealed class ColumnScorer(ITransformer model, DataViewSchema schema, List<object[]> rows, IReadOnlySet<int>[] featureColumns,
        int scoreCount, CancellationToken cancellation) : IPermutationScorer
    {
        private float[] _baseline = [];

        public int RowCount => rows.Count;
        public int ScoreCount => scoreCount;
        public ReadOnlySpan<float> BaselineScores => _baseline;

        /// <summary>Scores the unpermuted rows and returns their labels as the model's output carries them.</summary>
        public float[] ReadBaseline(string labelColumn, PredictionKind kind, long[] rowPositions)
        {
            var scored = model.Transform(new InMemoryDataView(schema, rows));
            var label = scored.Schema[labelColumn];
            _baseline = new float[RowCount * scoreCount];
            FeatureScorer.ReadOutputs(scored, ScoreColumn, _baseline, scoreCount, cancellation);
            var labels = new float[RowCount];
            using var cursor = scored.GetRowCursor([label]);
            var read = EvaluationLabels.CreateReader(cursor, label, kind);
            for (int r = 0; cursor.MoveNext(); r++)
            {
                labels[r] = read();
                EvaluationLabels.Check(labelColumn, labels[r], rowPositions[r], kind, scoreCount);
            }
            return labels;
        }

        public void ScorePermuted(int feature, int[] permutation, Span<float> scores, CancellationToken token)
        {
            var view = new InMemoryDataView(schema, rows, new ColumnPermutation(featureColumns[feature], permutation));
            FeatureScorer.ReadOutputs(model.Transform(view), ScoreColumn, scores, scoreCount, token);
        }
    }
}
