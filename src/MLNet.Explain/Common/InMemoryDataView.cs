using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// An <see cref="IDataView"/> over buffered rows of plain values (see <see cref="RowValues"/>), used to send perturbed
/// or permuted rows through a model in large batches. The schema, annotations included, is the caller's.
/// A <see cref="ColumnPermutation"/> serves some columns from other rows without copying anything.
/// </summary>
internal sealed class InMemoryDataView : IDataView
{
    private readonly IReadOnlyList<object[]> _rows;
    private readonly ColumnPermutation? _permutation;

    public InMemoryDataView(DataViewSchema schema, IReadOnlyList<object[]> rows, ColumnPermutation? permutation = null)
    {
        Schema = schema;
        _rows = rows;
        _permutation = permutation;
        if (permutation is not null && permutation.SourceRows.Count != rows.Count)
            throw new ArgumentException($"The permutation covers {permutation.SourceRows.Count} rows; the view has {rows.Count}.", nameof(permutation));
        for (int r = 0; r < rows.Count; r++)
            if (rows[r].Length != schema.Count)
                throw new ArgumentException($"Row {r} has {rows[r].Length} values; the schema has {schema.Count} columns.", nameof(rows));
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _rows.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [new Cursor(this)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly InMemoryDataView _parent;
        private readonly Delegate[] _getters;
        private int _position = -1;

        public Cursor(InMemoryDataView parent)
        {
            _parent = parent;
            _getters = parent.Schema
                .Select(column => parent._permutation is { } permutation && permutation.Columns.Contains(column.Index)
                    ? RowValues.CreateGetter(column.Type, () => _parent._rows[permutation.SourceRows[_position]][column.Index], column.Name)
                    : RowValues.CreateGetter(column.Type, () => _parent._rows[_position][column.Index], column.Name))
                .ToArray();
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _position;
        public override long Batch => 0;

        public override bool MoveNext() => ++_position < _parent._rows.Count;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            => RowValues.Cast<TValue>(_getters[column.Index], column);

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);
    }
}

/// <summary>Columns of an <see cref="InMemoryDataView"/> whose value in row <c>i</c> comes from row <c>SourceRows[i]</c>.</summary>
internal sealed record ColumnPermutation(IReadOnlySet<int> Columns, IReadOnlyList<int> SourceRows);
