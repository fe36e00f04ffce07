using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Scores buffered raw rows (plain values, see <see cref="RowValues"/>) through a whole model in one pass and reads one
/// float output column: the batching path of explanations that perturb raw columns or text.
/// </summary>
internal sealed class ModelScorer
{
    private readonly ITransformer _model;
    private readonly DataViewSchema _inputSchema;
    private readonly string _outputColumn;

    /// <summary>Scores rows with schema <paramref name="inputSchema"/> (the model's input columns) and reads <paramref name="outputColumn"/>.</summary>
    public ModelScorer(ITransformer model, DataViewSchema inputSchema, string outputColumn)
    {
        _model = model;
        _inputSchema = inputSchema;
        _outputColumn = outputColumn;
        var column = model.GetOutputSchema(inputSchema).GetColumnOrNull(outputColumn)
            ?? throw new ArgumentException($"The model's output has no column '{outputColumn}'.", nameof(outputColumn));
        OutputCount = column.Type switch
        {
            VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } vector when vector.ItemType.RawType == typeof(float) => vector.Size,
            NumberDataViewType when column.Type.RawType == typeof(float) => 1,
            _ => throw new ArgumentException($"Output column '{outputColumn}' has type {column.Type}; a Single or a vector of Single was expected.", nameof(outputColumn)),
        };
    }

    public int OutputCount { get; }

    /// <summary>Scores <paramref name="rows"/> into <paramref name="outputs"/> (rows x <see cref="OutputCount"/>).</summary>
    public void Score(IReadOnlyList<object[]> rows, Span<float> outputs)
    {
        if (outputs.Length != rows.Count * OutputCount)
            throw new ArgumentException($"Expected room for {rows.Count * OutputCount} outputs, got {outputs.Length}.", nameof(outputs));
        var scored = _model.Transform(new InMemoryDataView(_inputSchema, rows));
        var column = scored.Schema[_outputColumn];
        using var cursor = scored.GetRowCursor([column]);
        int row = 0;
        if (column.Type is VectorDataViewType)
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                value.CopyTo(outputs.Slice(row++ * OutputCount, OutputCount));
            }
        }
        else
        {
            var getter = cursor.GetGetter<float>(column);
            float value = 0;
            while (cursor.MoveNext())
            {
                getter(ref value);
                outputs[row++] = value;
            }
        }
        if (row != rows.Count)
            throw new InvalidOperationException($"The model returned {row} rows for {rows.Count} inputs; explanations need a model that maps each row to one row.");
    }
}
