using Microsoft.ML;

namespace MLNet.Explain.Pipeline;

/// <summary>
/// Computes an explanation stage's per-row columns. It reads <see cref="InputColumns"/> of the model's output rows
/// (input columns pass through the model, so raw columns can be read too) and fills one value per output column.
/// Rows arrive in blocks so an explainer can batch its model evaluations across rows and run rows in parallel.
/// </summary>
public abstract class RowExplainer
{
    /// <summary>Names of the model-output columns the explainer reads.</summary>
    public abstract IReadOnlyList<string> InputColumns { get; }

    /// <summary>
    /// True when <see cref="InputColumns"/> are the model's input columns, to be read with the values they had when they
    /// entered the model even where a transform of the model replaced them in place (e.g. <c>MapValueToKey("Label")</c>,
    /// a normalizer writing to its input): ML.NET keeps such an input column, hidden, before the columns the model adds.
    /// False (default): the visible column of each name. Explainers that re-score whole input rows need true.
    /// </summary>
    public virtual bool ReadsModelInputs => false;

    /// <summary>The columns the explainer adds, in order.</summary>
    public abstract IReadOnlyList<ExplanationColumn> OutputColumns { get; }

    /// <summary>How many rows to hand to <see cref="Explain"/> at once when streaming.</summary>
    public virtual int BlockSize => 64;

    /// <summary>
    /// Explains every row of <paramref name="block"/>: <c>outputs[row][column]</c> receives the value of each output column
    /// (see <see cref="ExplanationColumn"/> for the value types). Must be thread-safe: cursors may run concurrently.
    /// </summary>
    public abstract void Explain(RowBlock block, object[][] outputs);
}

/// <summary>A block of rows read from the model's output: values of the explainer's input columns.</summary>
public sealed class RowBlock
{
    private readonly Dictionary<string, int> _columnIndex;
    private readonly object[][] _rows;

    internal RowBlock(IReadOnlyList<string> columns, object[][] rows)
    {
        _columnIndex = columns.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        _rows = rows;
    }

    public int Count => _rows.Length;

    /// <summary>The value of <paramref name="column"/> in row <paramref name="row"/> (see <see cref="RowValues"/> for types).</summary>
    public object Get(int row, string column)
        => _columnIndex.TryGetValue(column, out var index)
            ? _rows[row][index]
            : throw new ArgumentException($"Column '{column}' was not declared in the explainer's input columns.", nameof(column));

    public float[] GetVector(int row, string column) => (float[])Get(row, column);
}
