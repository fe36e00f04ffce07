using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>Which output of a predictor an explanation looks at.</summary>
public enum ScoreOutput
{
    /// <summary>The raw score (the margin of a binary classifier, one score per class for multiclass).</summary>
    Score,

    /// <summary>The calibrated probability of a binary classifier (same as <see cref="Score"/> for other tasks).</summary>
    Probability,
}

/// <summary>
/// Scores many feature vectors through a model's predictor in one pass: the shared batching path of every
/// explanation that perturbs feature slots (LIME, Kernel SHAP, slot-level permutation importance).
/// </summary>
public sealed class FeatureScorer
{
    private readonly ModelParts _parts;
    private readonly DataViewSchema _schema;
    private readonly string _outputColumn;

    public FeatureScorer(ModelParts parts, ScoreOutput output = ScoreOutput.Score)
    {
        _parts = parts;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(parts.FeatureColumnName, parts.FeatureColumn.Type, parts.FeatureColumn.Annotations);
        _schema = builder.ToSchema();
        var scoredSchema = parts.Predictor.GetOutputSchema(_schema);
        _outputColumn = output == ScoreOutput.Probability && scoredSchema.GetColumnOrNull("Probability") is not null
            ? "Probability"
            : "Score";
        OutputCount = scoredSchema[_outputColumn].Type is VectorDataViewType vector ? vector.Size : 1;
    }

    /// <summary>Outputs per row: 1, or the number of classes of a multiclass predictor.</summary>
    public int OutputCount { get; }

    public int FeatureCount => _parts.FeatureCount;

    /// <summary>Names of the feature slots (for messages).</summary>
    public IReadOnlyList<string> FeatureNames => _parts.FeatureNames;

    /// <summary>
    /// Scores the row-major matrix <paramref name="features"/> (rows x <see cref="FeatureCount"/>) into
    /// <paramref name="outputs"/> (rows x <see cref="OutputCount"/>).
    /// </summary>
    public void Score(ReadOnlyMemory<float> features, Span<float> outputs)
    {
        int rows = features.Length / FeatureCount;
        if (rows * FeatureCount != features.Length)
            throw new ArgumentException($"The feature matrix has {features.Length} values, not a multiple of {FeatureCount} features.", nameof(features));
        if (outputs.Length != rows * OutputCount)
            throw new ArgumentException($"Expected room for {rows * OutputCount} outputs, got {outputs.Length}.", nameof(outputs));

        var scored = _parts.Predictor.Transform(new FeatureMatrixDataView(_schema, features));
        ReadOutputs(scored, _outputColumn, outputs, OutputCount, CancellationToken.None);
    }

    /// <summary>
    /// Reads a float or float-vector output column (e.g. <c>Score</c>) of every row of <paramref name="scored"/> into
    /// <paramref name="outputs"/> (rows x <paramref name="outputCount"/>).
    /// </summary>
    internal static void ReadOutputs(IDataView scored, string columnName, Span<float> outputs, int outputCount, CancellationToken cancellation)
    {
        var column = scored.Schema[columnName];
        using var cursor = scored.GetRowCursor([column]);
        int row = 0;
        if (outputCount == 1 && column.Type is not VectorDataViewType)
        {
            var getter = cursor.GetGetter<float>(column);
            float value = 0;
            while (cursor.MoveNext())
            {
                if ((row & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                getter(ref value);
                outputs[row++] = value;
            }
        }
        else
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> value = default;
            while (cursor.MoveNext())
            {
                if ((row & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                getter(ref value);
                value.CopyTo(outputs.Slice(row++ * outputCount, outputCount));
            }
        }
    }
}

/// <summary>A single feature-vector column over a row-major float matrix, without copying it.</summary>
internal sealed class FeatureMatrixDataView : IDataView
{
    private readonly ReadOnlyMemory<float> _features;
    private readonly int _width;

    public FeatureMatrixDataView(DataViewSchema schema, ReadOnlyMemory<float> features)
    {
        Schema = schema;
        _features = features;
        _width = ((VectorDataViewType)schema[0].Type).Size;
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _features.Length / _width;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

    private sealed class Cursor(FeatureMatrixDataView parent) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => parent.Schema;
        public override long Position => _position;
        public override long Batch => 0;
        public override bool MoveNext() => ++_position < parent.GetRowCount();
        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var editor = VBufferEditor.Create(ref value, parent._width);
                parent._features.Span.Slice((int)_position * parent._width, parent._width).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return RowValues.Cast<TValue>(getter, column);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);
    }
}
