using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Pipeline;

/// <summary>
/// The model's output plus an explainer's columns, computed while streaming. A second cursor runs ahead over the
/// explainer's input columns and fills a block of rows at a time, so the explainer can batch model evaluations and
/// parallelize across rows while memory stays bounded by the block size.
/// </summary>
internal sealed class AttributionDataView : IDataView
{
    private readonly IDataView _scored;
    private readonly RowExplainer _explainer;

    public AttributionDataView(IDataView scored, RowExplainer explainer)
    {
        _scored = scored;
        _explainer = explainer;
        Schema = AttributionSchema.Extend(scored.Schema, explainer);
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _scored.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToList();
        var scoredCount = _scored.Schema.Count;
        var scoredNeeded = needed.Where(c => c.Index < scoredCount).Select(c => _scored.Schema[c.Index]);
        var explains = needed.Any(c => c.Index >= scoredCount);
        var main = _scored.GetRowCursor(scoredNeeded);
        var ahead = explains ? _scored.GetRowCursor(AttributionSchema.InputColumns(_scored.Schema, _explainer)) : null;
        return new Cursor(this, main, ahead);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly AttributionDataView _parent;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly Func<object>[] _readers;
        private object[][] _outputs = [];
        private long _blockStart;

        public Cursor(AttributionDataView parent, DataViewRowCursor main, DataViewRowCursor? ahead)
        {
            _parent = parent;
            _main = main;
            _ahead = ahead;
            _readers = ahead is null ? [] : AttributionSchema.InputReaders(ahead, parent._explainer);
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _main.Position;
        public override long Batch => _main.Batch;

        public override bool MoveNext()
        {
            if (!_main.MoveNext()) return false;
            if (_ahead is not null && Position >= _blockStart + _outputs.Length)
                ExplainNextBlock();
            return true;
        }

        private void ExplainNextBlock()
        {
            var explainer = _parent._explainer;
            var rows = new List<object[]>(explainer.BlockSize);
            while (rows.Count < explainer.BlockSize && _ahead!.MoveNext())
                rows.Add(ReadRow());
            if (rows.Count == 0)
                throw new InvalidOperationException("The model's output returned fewer rows on a second pass; explanations need data that reads the same rows every time.");
            _blockStart = Position;
            _outputs = rows.Select(_ => new object[explainer.OutputColumns.Count]).ToArray();
            explainer.Explain(new RowBlock(explainer.InputColumns, rows.ToArray()), _outputs);
        }

        private object[] ReadRow()
        {
            var row = new object[_readers.Length];
            for (int i = 0; i < row.Length; i++)
                row[i] = _readers[i]();
            return row;
        }

        public override bool IsColumnActive(DataViewSchema.Column column)
            => column.Index < _parent._scored.Schema.Count ? _main.IsColumnActive(_parent._scored.Schema[column.Index]) : _ahead is not null;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var scoredCount = _parent._scored.Schema.Count;
            if (column.Index < scoredCount)
                return _main.GetGetter<TValue>(_parent._scored.Schema[column.Index]);
            if (_ahead is null)
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            int output = column.Index - scoredCount;
            var getter = RowValues.CreateGetter(column.Type, () => _outputs[Position - _blockStart][output], column.Name);
            return RowValues.Cast<TValue>(getter, column);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
