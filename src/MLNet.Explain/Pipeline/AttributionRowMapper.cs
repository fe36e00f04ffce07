using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Pipeline;

/// <summary>Row-by-row form of <see cref="AttributionDataView"/>, used by ML.NET's PredictionEngine.</summary>
internal sealed class AttributionRowMapper : IRowToRowMapper
{
    private readonly IRowToRowMapper _scoring;
    private readonly RowExplainer _explainer;

    public AttributionRowMapper(IRowToRowMapper scoring, RowExplainer explainer)
    {
        _scoring = scoring;
        _explainer = explainer;
        OutputSchema = AttributionSchema.Extend(scoring.OutputSchema, explainer);
    }

    public DataViewSchema InputSchema => _scoring.InputSchema;
    public DataViewSchema OutputSchema { get; }

    private int ScoredCount => _scoring.OutputSchema.Count;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        => _scoring.GetDependencies(ScoredColumnsNeeded(dependingColumns.ToList()));

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        var active = activeColumns.ToList();
        var explains = active.Any(c => c.Index >= ScoredCount);
        var scoredRow = _scoring.GetRow(input, ScoredColumnsNeeded(active));
        return new Row(this, scoredRow, explains);
    }

    private IEnumerable<DataViewSchema.Column> ScoredColumnsNeeded(IReadOnlyList<DataViewSchema.Column> columns)
    {
        var scored = columns.Where(c => c.Index < ScoredCount).Select(c => _scoring.OutputSchema[c.Index]);
        return columns.Any(c => c.Index >= ScoredCount)
            ? scored.Concat(AttributionSchema.InputColumns(_scoring.OutputSchema, _explainer)).Distinct()
            : scored;
    }

    private sealed class Row : DataViewRow
    {
        private readonly AttributionRowMapper _parent;
        private readonly DataViewRow _scored;
        private readonly Func<object>[] _readers;
        private readonly object[] _outputs;
        private object[]? _explainedInputs;

        public Row(AttributionRowMapper parent, DataViewRow scored, bool explains)
        {
            _parent = parent;
            _scored = scored;
            _readers = explains ? AttributionSchema.InputReaders(scored, parent._explainer) : [];
            _outputs = new object[parent._explainer.OutputColumns.Count];
        }

        public override DataViewSchema Schema => _parent.OutputSchema;
        public override long Position => _scored.Position;
        public override long Batch => _scored.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column)
            => column.Index < _parent.ScoredCount ? _scored.IsColumnActive(_parent._scoring.OutputSchema[column.Index]) : _readers.Length > 0;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _parent.ScoredCount)
                return _scored.GetGetter<TValue>(_parent._scoring.OutputSchema[column.Index]);
            int output = column.Index - _parent.ScoredCount;
            var getter = RowValues.CreateGetter(column.Type, () => Explained()[output], column.Name);
            return RowValues.Cast<TValue>(getter, column);
        }

        // PredictionEngine reuses one row object for every prediction without moving its position, so the cache is
        // keyed on the input values: several output getters of one prediction share a single explanation.
        private object[] Explained()
        {
            var inputs = _readers.Select(read => read()).ToArray();
            if (_explainedInputs is null || !inputs.SequenceEqual(_explainedInputs, PlainValueComparer.Instance))
            {
                _parent._explainer.Explain(new RowBlock(_parent._explainer.InputColumns, [inputs]), [_outputs]);
                _explainedInputs = inputs;
            }
            return _outputs;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _scored.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _scored.Dispose();
            base.Dispose(disposing);
        }
    }
}
