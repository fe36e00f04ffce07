using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Lime;

/// <summary>
/// Feature slots: rows are the predictor's feature vectors; samples are scored by the predictor alone. A tree ensemble
/// (FastTree, LightGBM, ...) is evaluated directly from its trees (<see cref="TreeEnsembleEvaluator"/>, then its
/// calibrator) when that reproduces ML.NET's outputs exactly on probe vectors spread over the training bins; otherwise,
/// and for every other predictor, through ML.NET (<see cref="FeatureScorer"/>). Both paths give identical numbers.
/// </summary>
internal sealed class SlotScoring : ITabularScoring
{
    private const int ProbeRows = 256;

    private readonly LimeState _state;
    private readonly TabularSampler _sampler;
    private readonly FeatureScorer _scorer;
    private readonly TreeEnsembleEvaluator? _trees;
    private readonly ICalibrator? _calibrator;
    private readonly string _featureColumn;

    public SlotScoring(LimeState state, ModelParts parts)
    {
        _state = state;
        _sampler = new TabularSampler(state);
        _scorer = new FeatureScorer(parts, ScoreOutput.Probability);
        _featureColumn = parts.FeatureColumnName;
        InputColumns = [_featureColumn];
        _calibrator = parts.Calibrator;
        _trees = DirectTrees(TreeEnsembleEvaluator.TryCreate(parts));
    }

    /// <summary>Whether samples are scored from the trees directly instead of through ML.NET.</summary>
    internal bool ScoresTreesDirectly => _trees is not null;

    private TreeEnsembleEvaluator? DirectTrees(TreeEnsembleEvaluator? trees)
    {
        if (trees is null || _scorer.OutputCount != 1) return null;
        int p = _state.Features.Count;
        var random = RowRandom.For(_state.Seed, ["LIME tree probe"]);
        var probe = new float[ProbeRows * p];
        for (int r = 0; r < ProbeRows; r++)
            for (int j = 0; j < p; j++)
                probe[r * p + j] = ProbeValue(_state.Features[j], random);
        var expected = new float[ProbeRows];
        _scorer.Score(probe, expected);
        var direct = new float[ProbeRows];
        ScoreDirect(trees, probe, direct);
        return direct.AsSpan().SequenceEqual(expected) ? trees : null;
    }

    /// <summary>A value a sample can take: a training category, or a bin edge or mean of a continuous feature.</summary>
    private static float ProbeValue(LimeFeatureStatistics feature, RowRandom random)
    {
        if (feature.Kind != LimeFeatureKind.Continuous)
            return Convert.ToSingle(feature.Categories[random.NextInt(feature.Categories.Count)], System.Globalization.CultureInfo.InvariantCulture);
        var bin = feature.Bins[random.NextInt(feature.Bins.Count)];
        return (float)(random.NextInt(3) switch { 0 => bin.Min, 1 => bin.Max, _ => bin.Mean });
    }

    private void ScoreDirect(TreeEnsembleEvaluator trees, ReadOnlySpan<float> matrix, Span<float> outputs)
    {
        trees.Score(matrix, _state.Features.Count, outputs);
        if (_calibrator is not null)
            foreach (ref var output in outputs)
                output = _calibrator.PredictProbability(output);
    }

    public IReadOnlyList<string> InputColumns { get; }
    public bool ReadsModelInputs => false;
    public int OutputCount => _scorer.OutputCount;

    public (TabularInstance Instance, RowRandom Random, object Row) Read(RowBlock block, int row)
    {
        var features = block.GetVector(row, _featureColumn);
        var random = RowRandom.For(_state.Seed, features);
        var imputed = (float[])features.Clone();
        int p = features.Length;
        var values = new double[p];
        var bins = new int[p];
        var categories = new int[p];
        for (int j = 0; j < p; j++)
        {
            var feature = _state.Features[j];
            if (float.IsNaN(features[j]))
                imputed[j] = Convert.ToSingle(Imputed(_state, _sampler, j, $"slot '{feature.Name}' (slot {j}) of column '{_featureColumn}'"), System.Globalization.CultureInfo.InvariantCulture);
            if (feature.Kind != LimeFeatureKind.Continuous)
                categories[j] = _sampler.CategoryOf(j, imputed[j]);
            else
            {
                values[j] = imputed[j];
                bins[j] = feature.BinOf(values[j]);
            }
        }
        return (new TabularInstance(values, bins, categories), random, imputed);
    }

    public void Score(IReadOnlyList<(object Row, double[] Values)> rows, int samplesPerRow, Span<float> outputs)
    {
        int p = _state.Features.Count;
        var matrix = new float[rows.Count * samplesPerRow * p];
        int offset = 0;
        foreach (var (row, values) in rows)
        {
            var instance = (float[])row;
            for (int i = 0; i < samplesPerRow; i++, offset += p)
                for (int j = 0; j < p; j++)
                {
                    double value = values[i * p + j];
                    var feature = _state.Features[j];
                    matrix[offset + j] = feature.Kind == LimeFeatureKind.Continuous ? (float)value
                        : value < 0 ? instance[j]
                        : (float)feature.Categories[(int)value];
                }
        }
        if (_trees is null)
            _scorer.Score(matrix, outputs);
        else
            ScoreDirect(_trees, matrix, outputs);
    }

    /// <summary>The value that replaces a missing one, or an exception naming <paramref name="where"/>.</summary>
    internal static object Imputed(LimeState state, TabularSampler sampler, int feature, string where)
    {
        if (state.MissingValues == LimeMissingValues.Throw)
            throw new InvalidOperationException(
                $"The row to explain has a missing value (NaN) in {where}. LIME cannot place a missing value in its neighbourhood: impute it before explaining, or set {nameof(LimeOptions)}.{nameof(LimeOptions.MissingValues)} = {nameof(LimeMissingValues.ImputeMean)}.");
        var statistics = state.Features[feature];
        return statistics.Kind == LimeFeatureKind.Continuous ? statistics.Mean : statistics.Categories[sampler.MostFrequentCategory(feature)];
    }
}

/// <summary>Raw columns and groups: rows are the model's input rows; samples are scored through the whole model.</summary>
internal sealed class ColumnScoring : ITabularScoring
{
    private readonly LimeState _state;
    private readonly TabularSampler _sampler;
    private readonly ModelScorer _scorer;
    private readonly DataViewSchema _inputSchema;
    private readonly int[][] _featureColumns;

    /// <summary>Explains rows of <paramref name="inputSchema"/> (the model's input columns, all read from each row to explain).</summary>
    public ColumnScoring(LimeState state, ITransformer model, DataViewSchema inputSchema, ExplainedOutput output)
    {
        _state = state;
        _sampler = new TabularSampler(state);
        _inputSchema = inputSchema;
        _scorer = new ModelScorer(model, inputSchema, output.ColumnName);
        _featureColumns = state.Features.Select(f => f.Columns.Select(name => inputSchema[name].Index).ToArray()).ToArray();
        InputColumns = inputSchema.Select(c => c.Name).ToArray();
    }

    public IReadOnlyList<string> InputColumns { get; }
    public bool ReadsModelInputs => true;
    public int OutputCount => _scorer.OutputCount;

    public (TabularInstance Instance, RowRandom Random, object Row) Read(RowBlock block, int row)
    {
        var original = InputColumns.Select(name => block.Get(row, name)).ToArray();
        var random = RowRandom.For(_state.Seed, original);
        var imputed = (object[])original.Clone();
        int p = _state.Features.Count;
        var values = new double[p];
        var bins = new int[p];
        var categories = new int[p];
        for (int j = 0; j < p; j++)
        {
            var feature = _state.Features[j];
            var columns = _featureColumns[j];
            object value = columns.Length == 1 ? imputed[columns[0]] : columns.Select(c => imputed[c]).ToArray();
            if (HasMissing(value))
            {
                value = SlotScoring.Imputed(_state, _sampler, j, $"column '{string.Join("', '", feature.Columns)}' (feature '{feature.Name}')");
                if (feature.Kind == LimeFeatureKind.Continuous)
                    value = AsColumnType(TrainingStatistics.ToDouble(value), imputed[columns[0]]);
                Place(imputed, columns, value);
            }
            if (feature.Kind != LimeFeatureKind.Continuous)
                categories[j] = _sampler.CategoryOf(j, value);
            else
            {
                values[j] = TrainingStatistics.ToDouble(value);
                bins[j] = feature.BinOf(values[j]);
            }
        }
        return (new TabularInstance(values, bins, categories), random, imputed);
    }

    public void Score(IReadOnlyList<(object Row, double[] Values)> rows, int samplesPerRow, Span<float> outputs)
    {
        int p = _state.Features.Count;
        var samples = new List<object[]>(rows.Count * samplesPerRow);
        foreach (var (row, values) in rows)
        {
            var instance = (object[])row;
            samples.Add(instance);
            for (int i = 1; i < samplesPerRow; i++)
            {
                var sample = (object[])instance.Clone();
                for (int j = 0; j < p; j++)
                {
                    var feature = _state.Features[j];
                    double value = values[i * p + j];
                    var columns = _featureColumns[j];
                    if (feature.Kind == LimeFeatureKind.Continuous)
                        sample[columns[0]] = AsColumnType(value, instance[columns[0]]);
                    else if (value >= 0)
                        Place(sample, columns, feature.Categories[(int)value]);
                }
                samples.Add(sample);
            }
        }
        _scorer.Score(samples, outputs);
    }

    private static void Place(object[] row, int[] columns, object value)
    {
        if (columns.Length == 1)
            row[columns[0]] = value;
        else
            for (int c = 0; c < columns.Length; c++)
                row[columns[c]] = ((object[])value)[c];
    }

    private static bool HasMissing(object value)
        => value is object[] group ? group.Any(HasMissing)
            : value is float[] floats ? floats.Any(float.IsNaN)
            : value is double[] doubles ? doubles.Any(double.IsNaN)
            : TrainingStatistics.IsMissing(value);

    /// <summary>A drawn continuous value in the plain type of the column it replaces (integers rounded).</summary>
    private static object AsColumnType(double value, object like) => like switch
    {
        float => (object)(float)value,
        double => value,
        int => (int)Math.Clamp(Math.Round(value), int.MinValue, int.MaxValue),
        long => (long)Math.Clamp(Math.Round(value), long.MinValue, long.MaxValue),
        uint => (uint)Math.Clamp(Math.Round(value), 0, uint.MaxValue),
        _ => throw new InvalidOperationException($"Cannot write a sampled number into a value of type {like.GetType().Name}."),
    };
}
