using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Lime;

/// <summary>How a tabular LIME stage reads rows to explain and scores their samples (feature slots or raw columns).</summary>
internal interface ITabularScoring
{
    /// <summary>The model-output columns a row is read from.</summary>
    IReadOnlyList<string> InputColumns { get; }

    /// <summary>Whether those are model inputs, read as they entered the model (see <see cref="RowExplainer.ReadsModelInputs"/>).</summary>
    bool ReadsModelInputs { get; }

    /// <summary>Locates a row in the training statistics (missing values handled) and seeds its random generator from its content.</summary>
    (TabularInstance Instance, RowRandom Random, object Row) Read(RowBlock block, int row);

    /// <summary>
    /// Scores every sample of several rows in one pass. <c>rows[r].Values</c> holds the drawn values of row r's
    /// samples (see <see cref="TabularSampler.Sample"/>); outputs are row-major, samples of row 0 first.
    /// </summary>
    void Score(IReadOnlyList<(object Row, double[] Values)> rows, int samplesPerRow, Span<float> outputs);

    int OutputCount { get; }
}

/// <summary>
/// Explains rows of tabular data: draws each row's neighbourhood with its own <see cref="RowRandom"/>, scores the
/// samples of a few rows together in one batch, fits each row's surrogate; batches run in parallel.
/// </summary>
internal sealed class TabularExplainer : RowExplainer
{
    private readonly LimeState _state;
    private readonly ITabularScoring _scoring;
    private readonly TabularSampler _sampler;
    private readonly LimeClassChoice _classes;

    public TabularExplainer(LimeState state, ITabularScoring scoring, LimeClassChoice classes)
    {
        _state = state;
        _scoring = scoring;
        _classes = classes;
        _sampler = new TabularSampler(state);
        InputColumns = scoring.InputColumns.Concat(classes.InputColumns).Distinct().ToArray();
        var names = state.OutputNames;
        OutputColumns = new[]
        {
            ExplanationColumn.Vector(names.Weights, state.Features.Select(f => f.Name).ToArray()),
        }.Concat(names.SurrogateColumns).Concat(classes.OutputColumns).ToArray();
    }

    public override IReadOnlyList<string> InputColumns { get; }
    public override IReadOnlyList<ExplanationColumn> OutputColumns { get; }
    public override bool ReadsModelInputs => _scoring.ReadsModelInputs;

    public override void Explain(RowBlock block, object[][] outputs)
        => ParallelBatches.Run(block.Count, _state.RowsPerBatch, (first, end) => ExplainBatch(block, first, end, outputs));

    private void ExplainBatch(RowBlock block, int first, int end, object[][] outputs)
    {
        int n = _state.NumberOfSamples, p = _sampler.FeatureCount, count = end - first;
        var designs = new double[count][];
        var weights = new double[count][];
        var rows = new (object Row, double[] Values)[count];
        for (int r = 0; r < count; r++)
        {
            var (instance, random, row) = _scoring.Read(block, first + r);
            designs[r] = new double[n * p];
            weights[r] = new double[n];
            var values = new double[n * p];
            _sampler.Sample(instance, random, designs[r], values, weights[r]);
            rows[r] = (row, values);
        }

        int outputCount = _scoring.OutputCount;
        var scores = new float[count * n * outputCount];
        _scoring.Score(rows, n, scores);

        var targets = new double[n];
        for (int r = 0; r < count; r++)
        {
            var rowScores = scores.AsSpan(r * n * outputCount, n * outputCount);
            int classIndex = _classes.ClassOf(block, first + r);
            for (int i = 0; i < n; i++)
                targets[i] = _classes.Output.Value(rowScores.Slice(i * outputCount, outputCount), classIndex);
            var fit = Surrogate.Fit(designs[r], p, targets, weights[r], _state.FeatureSelection, _state.NumberOfFeatures, _state.RidgeAlpha);
            var output = outputs[first + r];
            output[0] = fit.Weights.Select(w => (float)w).ToArray();
            output[1] = (float)fit.Intercept;
            output[2] = (float)fit.LocalPrediction;
            output[3] = (float)fit.Score;
            _classes.WriteClass(output, 4, classIndex);
        }
    }
}
