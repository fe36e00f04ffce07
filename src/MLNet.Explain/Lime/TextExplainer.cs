using Microsoft.ML;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Lime;

/// <summary>
/// Explains a text column word by word through the whole model: each row's perturbed texts (see
/// <see cref="TextPerturbation"/>) are scored together with those of a few other rows in one batch, batches run in
/// parallel. Outputs the selected words by decreasing absolute weight and their weights.
/// </summary>
internal sealed class TextExplainer : RowExplainer
{
    private readonly LimeState _state;
    private readonly LimeClassChoice _classes;
    private readonly ModelScorer _scorer;
    private readonly string[] _modelInputs;
    private readonly int _textIndex;

    public TextExplainer(LimeState state, ITransformer model, DataViewSchema inputSchema, LimeClassChoice classes)
    {
        _state = state;
        _classes = classes;
        _scorer = new ModelScorer(model, inputSchema, classes.Output.ColumnName);
        _modelInputs = inputSchema.Select(c => c.Name).ToArray();
        _textIndex = inputSchema[state.TextColumn!].Index;
        InputColumns = _modelInputs.Concat(classes.InputColumns).Distinct().ToArray();
        var names = state.OutputNames;
        OutputColumns = new[]
        {
            ExplanationColumn.TextVector(names.Words),
            ExplanationColumn.VariableVector(names.WordWeights),
        }.Concat(names.SurrogateColumns).Concat(classes.OutputColumns).ToArray();
    }

    public override IReadOnlyList<string> InputColumns { get; }
    public override IReadOnlyList<ExplanationColumn> OutputColumns { get; }
    public override bool ReadsModelInputs => true;

    public override void Explain(RowBlock block, object[][] outputs)
        => ParallelBatches.Run(block.Count, _state.RowsPerBatch, (first, end) => ExplainBatch(block, first, end, outputs));

    private void ExplainBatch(RowBlock block, int first, int end, object[][] outputs)
    {
        int count = end - first;
        var texts = new TextPerturbation[count];
        var designs = new double[count][];
        var weights = new double[count][];
        var samples = new List<object[]>();
        for (int r = 0; r < count; r++)
        {
            var row = _modelInputs.Select(name => block.Get(first + r, name)).ToArray();
            texts[r] = TextPerturbation.Parse((string)row[_textIndex], _state.TextPerturbation);
            // A text without words has nothing to perturb: only the row itself is scored.
            int n = texts[r].Features.Count == 0 ? 1 : _state.NumberOfSamples;
            designs[r] = new double[n * texts[r].Features.Count];
            weights[r] = new double[n];
            var perturbed = new string[n];
            texts[r].Sample(RowRandom.For(_state.Seed, row), _state.MaskToken, _state.KernelWidth, designs[r], perturbed, weights[r]);
            foreach (var text in perturbed)
            {
                var sample = (object[])row.Clone();
                sample[_textIndex] = text;
                samples.Add(sample);
            }
        }

        int outputCount = _scorer.OutputCount;
        var scores = new float[samples.Count * outputCount];
        _scorer.Score(samples, scores);

        int offset = 0;
        for (int r = 0; r < count; r++)
        {
            int n = weights[r].Length, d = texts[r].Features.Count;
            int classIndex = _classes.ClassOf(block, first + r);
            var targets = new double[n];
            for (int i = 0; i < n; i++, offset++)
                targets[i] = _classes.Output.Value(scores.AsSpan(offset * outputCount, outputCount), classIndex);

            var output = outputs[first + r];
            if (d == 0)
            {
                output[0] = Array.Empty<string>();
                output[1] = Array.Empty<float>();
                output[2] = (float)targets[0];
                output[3] = (float)targets[0];
                output[4] = float.NaN;
            }
            else
            {
                var fit = Surrogate.Fit(designs[r], d, targets, weights[r], _state.FeatureSelection, _state.NumberOfFeatures, _state.RidgeAlpha);
                var ranked = fit.Selected.OrderByDescending(f => Math.Abs(fit.Weights[f])).ThenBy(f => f).ToArray();
                output[0] = ranked.Select(f => texts[r].Features[f]).ToArray();
                output[1] = ranked.Select(f => (float)fit.Weights[f]).ToArray();
                output[2] = (float)fit.Intercept;
                output[3] = (float)fit.LocalPrediction;
                output[4] = (float)fit.Score;
            }
            _classes.WriteClass(output, 5, classIndex);
        }
    }
}
