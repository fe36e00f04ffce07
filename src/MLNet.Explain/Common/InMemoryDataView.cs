using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// An <see cref="IDataView"/> over buffered rows of plain values (see <see cref="RowValues"/>), used to send perturbed
/// or permuted rows through a model in large batches. The schema, annotations included, is the caller's.
/// </summary>
internal sealed class InMemoryDataView : IDataView
{
    private readonly IReadOnlyList<object[]> _rows;

    public InMemoryDataView(DataViewSchema schema, IReadOnlyList<object[]> rows)
    {
        Schema = schema;
        _rows = rows;
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
                .Select(column => RowValues.CreateGetter(column.Type, () => _parent._rows[_position][column.Index], column.Name))
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
