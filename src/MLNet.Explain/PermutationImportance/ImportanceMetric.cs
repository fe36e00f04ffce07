using System.Buffers;

namespace MLNet.Explain;

/// <summary>
/// What a permutation importance run evaluates the model with. The built-in metrics are ML.NET's evaluation metrics,
/// computed on arrays (verified against ML.NET's evaluators); <see cref="ImportanceMetric(string, Func{MetricInput, double}, bool)"/>
/// makes your own.
/// </summary>
public sealed class ImportanceMetric
{
    private readonly Func<MetricInput, double> _compute;

    /// <summary>A metric of your own over labels and scores (see <see cref="MetricInput"/>).</summary>
    public ImportanceMetric(string name, Func<MetricInput, double> compute, bool higherIsBetter = true)
        : this(name, [], higherIsBetter, usesProbabilities: true, compute)
    {
    }

    private ImportanceMetric(string name, string[] aliases, bool higherIsBetter, bool usesProbabilities, Func<MetricInput, double> compute)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A metric needs a name.", nameof(name));
        Name = name;
        Aliases = aliases;
        HigherIsBetter = higherIsBetter;
        UsesProbabilities = usesProbabilities;
        _compute = compute ?? throw new ArgumentNullException(nameof(compute));
    }

    public string Name { get; }

    /// <summary>Short names accepted for this metric (e.g. AUC).</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>True when larger values are better; importance is then baseline − permuted, otherwise permuted − baseline.</summary>
    public bool HigherIsBetter { get; }

    /// <summary>Whether the metric reads <see cref="MetricInput.Probabilities"/> (computed only when needed).</summary>
    internal bool UsesProbabilities { get; }

    public double Compute(MetricInput input) => _compute(input);

    public override string ToString() => Name;

    /// <summary>The built-in metrics for a task, the default first.</summary>
    public static IReadOnlyList<ImportanceMetric> For(PredictionKind kind) => kind switch
    {
        PredictionKind.BinaryClassification => BinaryMetrics,
        PredictionKind.MulticlassClassification => MulticlassMetrics,
        PredictionKind.Regression => RegressionMetrics,
        _ => throw new NotSupportedException($"Permutation importance supports binary classification, multiclass classification and regression models, not {kind}."),
    };

    /// <summary>The default metric of a task: AreaUnderRocCurve, MicroAccuracy or RSquared.</summary>
    public static ImportanceMetric Default(PredictionKind kind) => For(kind)[0];

    /// <summary>The built-in metric of a task by name or alias, case-insensitive.</summary>
    public static ImportanceMetric Find(PredictionKind kind, string name)
    {
        var metrics = For(kind);
        return metrics.FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase)
                                           || m.Aliases.Any(a => a.Equals(name, StringComparison.OrdinalIgnoreCase)))
               ?? throw new ArgumentException(
                   $"Unknown metric '{name}' for {kind}. Known metrics: {string.Join(", ", metrics.Select(m => m.Aliases.Count > 0 ? $"{m.Name} ({string.Join(", ", m.Aliases)})" : m.Name))}.",
                   nameof(name));
    }

    private static ImportanceMetric Higher(string name, Func<MetricInput, double> compute, params string[] aliases)
        => new(name, aliases, higherIsBetter: true, usesProbabilities: false, compute);

    private static ImportanceMetric Lower(string name, Func<MetricInput, double> compute, params string[] aliases)
        => new(name, aliases, higherIsBetter: false, usesProbabilities: false, compute);

    private static ImportanceMetric WithProbabilities(string name, bool higherIsBetter, Func<MetricInput, double> compute)
        => new(name, [], higherIsBetter, usesProbabilities: true, compute);

    private static readonly ImportanceMetric[] BinaryMetrics =
    [
        Higher("AreaUnderRocCurve", BinaryMetricMath.AreaUnderRocCurve, "AUC", "AUROC"),
        Higher("Accuracy", input => BinaryMetricMath.Counts(input).Accuracy),
        Higher("F1Score", input => BinaryMetricMath.Counts(input).F1, "F1"),
        Higher("AreaUnderPrecisionRecallCurve", BinaryMetricMath.AreaUnderPrecisionRecallCurve, "AUPRC"),
        Higher("PositivePrecision", input => BinaryMetricMath.Counts(input).PositivePrecision),
        Higher("PositiveRecall", input => BinaryMetricMath.Counts(input).PositiveRecall),
        Higher("NegativePrecision", input => BinaryMetricMath.Counts(input).NegativePrecision),
        Higher("NegativeRecall", input => BinaryMetricMath.Counts(input).NegativeRecall),
        WithProbabilities("LogLoss", higherIsBetter: false, BinaryMetricMath.LogLoss),
        WithProbabilities("LogLossReduction", higherIsBetter: true, BinaryMetricMath.LogLossReduction),
    ];

    private static readonly ImportanceMetric[] MulticlassMetrics =
    [
        Higher("MicroAccuracy", MulticlassMetricMath.MicroAccuracy, "Accuracy"),
        Higher("MacroAccuracy", MulticlassMetricMath.MacroAccuracy),
        Lower("LogLoss", MulticlassMetricMath.LogLoss),
        Higher("LogLossReduction", MulticlassMetricMath.LogLossReduction),
    ];

    private static readonly ImportanceMetric[] RegressionMetrics =
    [
        Higher("RSquared", RegressionMetricMath.RSquared, "R2"),
        Lower("RootMeanSquaredError", input => Math.Sqrt(RegressionMetricMath.MeanSquaredError(input)), "RMSE"),
        Lower("MeanAbsoluteError", RegressionMetricMath.MeanAbsoluteError, "MAE"),
        Lower("MeanSquaredError", RegressionMetricMath.MeanSquaredError, "MSE"),
    ];
}

/// <summary>
/// The labels and model outputs of the evaluated rows. Labels are 1/0 for binary classification, the class index
/// (0-based) for multiclass, the target for regression. Scores hold <see cref="ScoreCount"/> values per row: the raw
/// score, or one score per class.
/// </summary>
public sealed class MetricInput
{
    private readonly ReadOnlyMemory<float> _labels;
    private readonly ReadOnlyMemory<float> _scores;
    private readonly ReadOnlyMemory<float> _probabilities;

    public MetricInput(ReadOnlyMemory<float> labels, ReadOnlyMemory<float> scores, int scoreCount, ReadOnlyMemory<float> probabilities = default)
    {
        if (scoreCount < 1 || scores.Length != labels.Length * scoreCount)
            throw new ArgumentException($"Expected {labels.Length} rows x {scoreCount} scores, got {scores.Length} scores.", nameof(scores));
        if (!probabilities.IsEmpty && probabilities.Length != labels.Length)
            throw new ArgumentException($"Expected {labels.Length} probabilities, got {probabilities.Length}.", nameof(probabilities));
        _labels = labels;
        _scores = scores;
        _probabilities = probabilities;
        ScoreCount = scoreCount;
    }

    public int RowCount => _labels.Length;
    public int ScoreCount { get; }
    public ReadOnlySpan<float> Labels => _labels.Span;
    public ReadOnlySpan<float> Scores => _scores.Span;

    /// <summary>Calibrated probabilities of a binary classifier; empty for other models.</summary>
    public ReadOnlySpan<float> Probabilities => _probabilities.Span;
}

internal static class BinaryMetricMath
{
    public readonly record struct Confusion(double TruePositives, double FalsePositives, double TrueNegatives, double FalseNegatives)
    {
        public double Accuracy => (TruePositives + TrueNegatives) / (TruePositives + FalsePositives + TrueNegatives + FalseNegatives);
        public double PositivePrecision => Ratio(TruePositives, TruePositives + FalsePositives);
        public double PositiveRecall => Ratio(TruePositives, TruePositives + FalseNegatives);
        public double NegativePrecision => Ratio(TrueNegatives, TrueNegatives + FalseNegatives);
        public double NegativeRecall => Ratio(TrueNegatives, TrueNegatives + FalsePositives);
        public double F1 => 2 * PositivePrecision * PositiveRecall / (PositivePrecision + PositiveRecall);

        private static double Ratio(double a, double b) => b > 0 ? a / b : 0;
    }

    /// <summary>Predicted positive when the raw score is above 0, ML.NET's default threshold.</summary>
    public static Confusion Counts(MetricInput input)
    {
        var labels = input.Labels;
        var scores = input.Scores;
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            bool predicted = scores[i] > 0;
            if (labels[i] > 0) { if (predicted) tp++; else fn++; }
            else if (predicted) fp++;
            else tn++;
        }
        return new Confusion(tp, fp, tn, fn);
    }

    /// <summary>Mann-Whitney AUC on the raw scores; tied scores count one half.</summary>
    public static double AreaUnderRocCurve(MetricInput input)
    {
        int n = input.RowCount;
        var scores = ArrayPool<float>.Shared.Rent(n);
        var labels = ArrayPool<float>.Shared.Rent(n);
        try
        {
            input.Scores.CopyTo(scores);
            input.Labels.CopyTo(labels);
            Array.Sort(scores, labels, 0, n);
            double area = 0, negativesBelow = 0, positives = 0;
            for (int start = 0; start < n;)
            {
                int end = start;
                double tiedPositives = 0, tiedNegatives = 0;
                while (end < n && scores[end] == scores[start])
                {
                    if (labels[end] > 0) tiedPositives++;
                    else tiedNegatives++;
                    end++;
                }
                area += tiedPositives * (negativesBelow + 0.5 * tiedNegatives);
                negativesBelow += tiedNegatives;
                positives += tiedPositives;
                start = end;
            }
            return positives == 0 || negativesBelow == 0 ? 0 : area / (positives * negativesBelow);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
            ArrayPool<float>.Shared.Return(labels);
        }
    }

    /// <summary>
    /// The "lower trapezoid" estimate of the area under the precision-recall curve, walking rows by descending score
    /// (ties in row order), as ML.NET computes it.
    /// </summary>
    public static double AreaUnderPrecisionRecallCurve(MetricInput input)
    {
        var labels = input.Labels;
        var scores = input.Scores;
        int n = input.RowCount;
        var order = ArrayPool<long>.Shared.Rent(n);
        try
        {
            // Sort keys: descending score first, then row index, packed so one primitive sort does it.
            for (int i = 0; i < n; i++)
                order[i] = ((long)DescendingKey(scores[i]) << 32) | (uint)i;
            Array.Sort(order, 0, n);
            double positives = 0;
            foreach (var label in labels)
                if (label > 0) positives++;
            if (positives == 0) return 0;
            double truePositives = 0, falsePositives = 0, previousRecall = 0, previousPrecision = 1, area = 0;
            for (int k = 0; k < n; k++)
            {
                int i = (int)(order[k] & 0xFFFFFFFF);
                if (labels[i] > 0)
                {
                    truePositives++;
                    double recall = truePositives / positives, precision = truePositives / (truePositives + falsePositives);
                    area += (recall - previousRecall) * (previousPrecision + precision) / 2;
                    previousPrecision = precision;
                    previousRecall = recall;
                }
                else
                {
                    falsePositives++;
                    previousPrecision = truePositives / (truePositives + falsePositives);
                }
            }
            return area;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(order);
        }
    }

    // Maps a float to an int whose ascending order is the float's descending order.
    private static int DescendingKey(float value)
    {
        int bits = value == 0 ? 0 : BitConverter.SingleToInt32Bits(value);
        int ascending = bits < 0 ? bits ^ int.MaxValue : bits;
        return ~ascending;
    }

    /// <summary>Mean log-loss in bits, as ML.NET reports it for binary classifiers.</summary>
    public static double LogLoss(MetricInput input)
    {
        var labels = input.Labels;
        var probabilities = input.Probabilities;
        double sum = 0;
        for (int i = 0; i < labels.Length; i++)
            sum -= labels[i] > 0 ? Math.Log2(probabilities[i]) : Math.Log2(1.0 - probabilities[i]);
        return sum / labels.Length;
    }

    /// <summary>Relative improvement of the log-loss over always predicting the label prior.</summary>
    public static double LogLossReduction(MetricInput input)
    {
        double positives = 0;
        foreach (var label in input.Labels)
            if (label > 0) positives++;
        double prior = Entropy(positives / input.RowCount);
        return (prior - LogLoss(input)) / prior;
    }

    private static double Entropy(double p) => p <= 0 || p >= 1 ? 0 : -(p * Math.Log2(p) + (1 - p) * Math.Log2(1 - p));
}

internal static class MulticlassMetricMath
{
    private const double Epsilon = 1e-15;

    private static int PredictedClass(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int c = 1; c < scores.Length; c++)
            if (scores[c] > scores[best]) best = c;
        return best;
    }

    public static double MicroAccuracy(MetricInput input)
    {
        int correct = 0, k = input.ScoreCount;
        for (int i = 0; i < input.RowCount; i++)
            if (PredictedClass(input.Scores.Slice(i * k, k)) == (int)input.Labels[i]) correct++;
        return (double)correct / input.RowCount;
    }

    /// <summary>Mean per-class recall over the classes present in the labels.</summary>
    public static double MacroAccuracy(MetricInput input)
    {
        int k = input.ScoreCount;
        var total = new int[k];
        var correct = new int[k];
        for (int i = 0; i < input.RowCount; i++)
        {
            int label = (int)input.Labels[i];
            total[label]++;
            if (PredictedClass(input.Scores.Slice(i * k, k)) == label) correct[label]++;
        }
        return Enumerable.Range(0, k).Where(c => total[c] > 0).Average(c => (double)correct[c] / total[c]);
    }

    /// <summary>Mean natural-log loss of the score of the true class, clipped at 1e-15 as ML.NET does.</summary>
    public static double LogLoss(MetricInput input)
    {
        int k = input.ScoreCount;
        double sum = 0;
        for (int i = 0; i < input.RowCount; i++)
            sum -= Math.Log(Math.Max(input.Scores[i * k + (int)input.Labels[i]], Epsilon));
        return sum / input.RowCount;
    }

    /// <summary>Relative improvement of the log-loss over always predicting the class priors.</summary>
    public static double LogLossReduction(MetricInput input)
    {
        var counts = new double[input.ScoreCount];
        foreach (var label in input.Labels)
            counts[(int)label]++;
        double prior = -counts.Where(c => c > 0).Sum(c => c / input.RowCount * Math.Log(c / input.RowCount));
        return (prior - LogLoss(input)) / prior;
    }
}

internal static class RegressionMetricMath
{
    public static double MeanSquaredError(MetricInput input)
    {
        double sum = 0;
        for (int i = 0; i < input.RowCount; i++)
        {
            double error = input.Labels[i] - (double)input.Scores[i];
            sum += error * error;
        }
        return sum / input.RowCount;
    }

    public static double MeanAbsoluteError(MetricInput input)
    {
        double sum = 0;
        for (int i = 0; i < input.RowCount; i++)
            sum += Math.Abs(input.Labels[i] - (double)input.Scores[i]);
        return sum / input.RowCount;
    }

    public static double RSquared(MetricInput input)
    {
        double mean = 0;
        foreach (var label in input.Labels)
            mean += label;
        mean /= input.RowCount;
        double total = 0;
        foreach (var label in input.Labels)
            total += (label - mean) * (label - mean);
        return 1 - MeanSquaredError(input) * input.RowCount / total;
    }
}
