using Microsoft.ML;

namespace MLNet.Explain;

/// <summary>What permutation importance permutes.</summary>
public enum ImportanceLevel
{
    /// <summary>Each slot of the predictor's feature vector (as ML.NET's PermutationFeatureImportance does).</summary>
    Slots,

    /// <summary>
    /// Groups of feature-vector slots permuted together: <see cref="PermutationImportanceOptions.Groups"/>, or when none
    /// are given, groups derived from slot names (<c>Color.Red</c>, <c>Color.Blue</c> form group <c>Color</c>).
    /// </summary>
    Groups,

    /// <summary>Raw input columns, permuted before featurization and sent through the whole pipeline.</summary>
    Columns,
}

/// <summary>Progress of a permutation importance run: one step per (feature, repeat) evaluated.</summary>
public readonly record struct PermutationImportanceProgress(int Completed, int Total, string Feature, int Repeat);

/// <summary>Options of <c>mlContext.Explain().PermutationImportance(options)</c>.</summary>
public sealed class PermutationImportanceOptions
{
    /// <summary>The label column, as the model's featurization outputs it (slot level) or returns it (column level).</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>What to permute; default <see cref="ImportanceLevel.Slots"/>.</summary>
    public ImportanceLevel Level { get; set; } = ImportanceLevel.Slots;

    /// <summary>
    /// Column level only: the input columns to permute. Default: every input column the model's score depends on,
    /// except the label.
    /// </summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>
    /// Features permuted together, by group name: slot names (slot and group levels) or input column names (column
    /// level). When set, exactly these groups are evaluated.
    /// </summary>
    public IReadOnlyDictionary<string, string[]>? Groups { get; set; }

    /// <summary>
    /// Name of an ML.NET metric of the model's task (case-insensitive, short forms such as AUC or RMSE accepted).
    /// Default: AreaUnderRocCurve (binary), MicroAccuracy (multiclass), RSquared (regression).
    /// See <see cref="ImportanceMetric.For"/> for the list.
    /// </summary>
    public string? Metric { get; set; }

    /// <summary>A metric of your own; takes precedence over <see cref="Metric"/>.</summary>
    public ImportanceMetric? CustomMetric { get; set; }

    /// <summary>How many times each feature is permuted; default 5.</summary>
    public int Repeats { get; set; } = 5;

    /// <summary>Seed of the permutations (and of the row sample); default: drawn from the MLContext's seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Evaluate on a uniform random sample of at most this many rows; default: every row.</summary>
    public int? MaxRows { get; set; }

    /// <summary>How many permutations are evaluated at once; default -1: all cores.</summary>
    public int MaxDegreeOfParallelism { get; set; } = -1;

    /// <summary>Data to evaluate on when the stage is fitted in a pipeline; default: the data the pipeline is fitted on.</summary>
    public IDataView? EvaluationData { get; set; }

    /// <summary>Receives a report after each (feature, repeat) evaluation; may be called from several threads.</summary>
    public IProgress<PermutationImportanceProgress>? Progress { get; set; }

    public CancellationToken CancellationToken { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumnName))
            throw new ArgumentException("LabelColumnName must name the label column.", nameof(LabelColumnName));
        if (Repeats < 1)
            throw new ArgumentOutOfRangeException(nameof(Repeats), Repeats, "Repeats must be at least 1.");
        if (MaxRows is < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxRows), MaxRows, "MaxRows must be at least 1 when set.");
        if (MaxDegreeOfParallelism is 0 or < -1)
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "Use -1 (all cores) or a positive number.");
        if (Columns is not null && Level != ImportanceLevel.Columns)
            throw new ArgumentException($"Columns applies to Level = Columns; the level is {Level}. Use Groups to group slots.", nameof(Columns));
        if (Groups is { Count: 0 })
            throw new ArgumentException("Groups is empty; leave it null to evaluate every feature.", nameof(Groups));
        if (Groups is not null && Columns is not null)
            throw new ArgumentException("Set either Columns or Groups, not both.", nameof(Groups));
        foreach (var (name, members) in Groups ?? new Dictionary<string, string[]>())
            if (members is not { Length: > 0 })
                throw new ArgumentException($"Group '{name}' has no members.", nameof(Groups));
    }
}
