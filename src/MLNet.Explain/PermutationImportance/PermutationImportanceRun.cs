using System.Runtime.ExceptionServices;
using Microsoft.ML;
using Microsoft.ML.Calibrators;

namespace MLNet.Explain;

/// <summary>
/// One permutation importance computation: resolves the metric and features, builds the evaluation set for the level,
/// then scores every (feature, repeat) permutation in parallel.
/// </summary>
internal static class PermutationImportanceRun
{
    public static PermutationImportanceResult Compute(MLContext context, ITransformer model, IDataView data, PermutationImportanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var parts = ModelParts.Of(model, data.Schema);
        var metric = options.CustomMetric
                     ?? (options.Metric is { } name ? ImportanceMetric.Find(parts.Kind, name) : ImportanceMetric.Default(parts.Kind));
        var calibrator = parts.Kind == PredictionKind.BinaryClassification ? parts.Calibrator : null;
        if (options.CustomMetric is null && metric.UsesProbabilities && calibrator is null)
            throw new ArgumentException(
                $"Metric {metric.Name} needs probabilities, but the binary predictor ({parts.Predictor.Model.GetType().Name}) is not calibrated. Use a calibrated trainer or another metric (e.g. AreaUnderRocCurve).",
                nameof(options));

        int seed = RowRandom.SeedOf(context, options.Seed);
        int sampleSeed = Permutations.Seed(seed, "rows", 0);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = options.CancellationToken };

        EvaluationSet set;
        IReadOnlyList<string[]> members;
        if (options.Level == ImportanceLevel.Columns)
        {
            var features = FeatureGroups.OfColumns(options, () => ColumnLevel.DefaultColumns(parts, data.Schema, options.LabelColumnName));
            set = ColumnLevel.Build(parts, data, options, features, sampleSeed);
            members = features.Select(f => f.Columns).ToArray();
        }
        else
        {
            var columnNames = data.Schema.Concat(parts.Featurizer.GetOutputSchema(data.Schema)).Select(c => c.Name);
            var features = FeatureGroups.OfSlots(parts, options, columnNames);
            set = SlotLevel.Build(parts, data, options, features, sampleSeed, parallel);
            members = features.Select(f => f.Slots.Select(s => parts.FeatureNames[s]).ToArray()).ToArray();
        }

        var (baseline, values) = Evaluate(set, metric, calibrator, options, seed, parallel);
        var importances = set.FeatureNames
            .Select((featureName, f) => new FeatureImportance(featureName, members[f], values[f]))
            .OrderByDescending(f => f.Mean)
            .ToArray();
        return new PermutationImportanceResult(metric.Name, metric.HigherIsBetter, baseline, options.Level, options.Repeats,
            set.Scorer.RowCount, seed, importances);
    }

    private static (double Baseline, double[][] Values) Evaluate(EvaluationSet set, ImportanceMetric metric, ICalibrator? calibrator,
        PermutationImportanceOptions options, int seed, ParallelOptions parallel)
    {
        var scorer = set.Scorer;
        int rows = scorer.RowCount, repeats = options.Repeats, total = set.FeatureNames.Count * repeats;
        var probabilityCalibrator = metric.UsesProbabilities ? calibrator : null;
        double baseline = metric.Compute(Input(set.Labels, scorer.BaselineScores.ToArray(), scorer.ScoreCount, probabilityCalibrator));
        if (!double.IsFinite(baseline))
            throw new InvalidOperationException($"The model's {metric.Name} on the evaluation data is {baseline}; importances relative to it would be meaningless.");

        var values = set.FeatureNames.Select(_ => new double[repeats]).ToArray();
        int completed = 0;
        try
        {
            Parallel.For(0, total, parallel, () => new float[rows * scorer.ScoreCount], (item, _, scores) =>
            {
                int feature = item / repeats, repeat = item % repeats;
                var name = set.FeatureNames[feature];
                scorer.ScorePermuted(feature, Permutations.For(seed, name, repeat, rows), scores, options.CancellationToken);
                double permuted = metric.Compute(Input(set.Labels, scores, scorer.ScoreCount, probabilityCalibrator));
                values[feature][repeat] = metric.HigherIsBetter ? baseline - permuted : permuted - baseline;
                options.Progress?.Report(new PermutationImportanceProgress(Interlocked.Increment(ref completed), total, name, repeat));
                return scores;
            }, _ => { });
        }
        catch (AggregateException error) when (error.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(error.InnerExceptions[0]).Throw();
        }
        return (baseline, values);
    }

    private static MetricInput Input(float[] labels, float[] scores, int scoreCount, ICalibrator? calibrator)
    {
        if (calibrator is null) return new MetricInput(labels, scores, scoreCount);
        var probabilities = new float[labels.Length];
        for (int i = 0; i < probabilities.Length; i++)
            probabilities[i] = calibrator.PredictProbability(scores[i]);
        return new MetricInput(labels, scores, scoreCount, probabilities);
    }
}

/// <summary>
/// The row permutations: each (feature, repeat) gets its own generator seeded from the run's seed, the feature's name
/// and the repeat index, so results do not depend on thread scheduling, on the degree of parallelism, or on which other
/// features are evaluated. A column and the group of its one-hot slots share a name, hence the same permutations.
/// </summary>
internal static class Permutations
{
    public static int[] For(int seed, string feature, int repeat, int rows)
    {
        // System.Random with a seed keeps its algorithm across .NET versions for compatibility.
        var random = new Random(Seed(seed, feature, repeat));
        var permutation = new int[rows];
        for (int i = 0; i < rows; i++) permutation[i] = i;
        for (int i = rows - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
        }
        return permutation;
    }

    /// <summary>A 32-bit FNV-1a hash of the seed, the name and the index: stable across processes and platforms.</summary>
    public static int Seed(int seed, string name, int index)
    {
        uint hash = 2166136261;
        void Add(uint value)
        {
            for (int b = 0; b < 4; b++)
            {
                hash ^= (value >> (8 * b)) & 0xFF;
                hash *= 16777619;
            }
        }
        Add((uint)seed);
        Add((uint)index);
        foreach (char c in name) Add(c);
        return (int)(hash & int.MaxValue);
    }
}
