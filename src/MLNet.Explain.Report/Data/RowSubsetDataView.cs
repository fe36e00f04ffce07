using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Report;

/// <summary>The rows of <paramref name="source"/> at the given positions, in position order, read by streaming (no copy).</summary>
internal sealed class RowSubsetDataView(IDataView source, IReadOnlyList<long> positions) : IDataView
{
    private readonly long[] _positions = positions.Distinct().Order().ToArray();

    /// <summary>The positions served, in order: output row i is source row <c>Positions[i]</c>.</summary>
    public IReadOnlyList<long> Positions => _positions;

    public bool CanShuffle => false;
    public DataViewSchema Schema => source.Schema;
    public long? GetRowCount() => _positions.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(source.GetRowCursor(columnsNeeded), _positions);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewRowCursor inner, long[] positions) : DataViewRowCursor
    {
        private long _sourcePosition = -1;
        private long _position = -1;

        public override DataViewSchema Schema => inner.Schema;
        public override long Position => _position;
        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (_position + 1 >= positions.Length) return false;
            long target = positions[_position + 1];
            while (_sourcePosition < target)
            {
                if (!inner.MoveNext())
                    throw new ArgumentOutOfRangeException(nameof(positions),
                        $"Row {target} was requested but the data has only {_sourcePosition + 1} rows.");
                _sourcePosition++;
            }
            _position++;
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);
        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
