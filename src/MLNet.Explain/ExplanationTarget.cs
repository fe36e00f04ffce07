namespace MLNet.Explain;

/// <summary>
/// Which output of the model each row's explanation is about: the one property every stage that explains a single
/// output shares (<c>Target</c> on LIME, SHAP and the ONNX saliency options).
/// </summary>
/// <remarks>
/// Not every stage accepts every kind: tabular stages take <see cref="Predicted"/>, <see cref="Class"/> and
/// <see cref="Index"/>; the ONNX stages take every kind but <see cref="Class"/>. A stage given a kind it cannot use
/// fails at <c>Fit</c> naming the option and the kinds it accepts.
/// </remarks>
public sealed class ExplanationTarget
{
    private ExplanationTarget(ExplanationTargetKind kind, int index = -1, string? name = null)
    {
        Kind = kind;
        FixedIndex = index;
        Name = name;
    }

    /// <summary>Each row's predicted output: the predicted class of a classifier (the largest output of an ONNX model), the score of a regression.</summary>
    public static ExplanationTarget Predicted { get; } = new(ExplanationTargetKind.Predicted);

    /// <summary>The class with this name for every row (multiclass: a name of the <c>Score</c> slots; binary: <c>True</c> or <c>False</c>).</summary>
    public static ExplanationTarget Class(string className) => new(ExplanationTargetKind.ClassName, name: Require(className, nameof(className)));

    /// <summary>The same output index (class index, output slot) for every row.</summary>
    public static ExplanationTarget Index(int index)
        => index >= 0 ? new(ExplanationTargetKind.FixedIndex, index) : throw new ArgumentOutOfRangeException(nameof(index), index, "A target index cannot be negative.");

    /// <summary>
    /// The index held by a column of each row: an integer, a float holding an integer, or a key (such as ML.NET's <c>PredictedLabel</c>;
    /// key values count from 1, so key k explains output k − 1).
    /// </summary>
    public static ExplanationTarget IndexColumn(string columnName) => new(ExplanationTargetKind.IndexColumn, name: Require(columnName, nameof(columnName)));

    /// <summary>
    /// An upstream gradient held by a float vector column (one value per output value): explains the weighted sum of the outputs with these weights,
    /// e.g. the difference of two classes or a downstream model's sensitivities.
    /// </summary>
    public static ExplanationTarget UpstreamGradient(string columnName) => new(ExplanationTargetKind.UpstreamGradient, name: Require(columnName, nameof(columnName)));

    internal ExplanationTargetKind Kind { get; }

    /// <summary>The index of <see cref="Index"/>; -1 for other kinds.</summary>
    internal int FixedIndex { get; }

    /// <summary>The class name of <see cref="Class"/>, or the column name of <see cref="IndexColumn"/> and <see cref="UpstreamGradient"/>.</summary>
    internal string? Name { get; }

    /// <summary>Fails naming the option and the accepted kinds when this target's kind is not among <paramref name="accepted"/>.</summary>
    internal void RequireKind(string optionName, params ExplanationTargetKind[] accepted)
    {
        if (Array.IndexOf(accepted, Kind) >= 0) return;
        throw new ArgumentException(
            $"{optionName} = {this} is not accepted here; use one of: {string.Join(", ", accepted.Select(Describe))}.", optionName);
    }

    public override string ToString() => Kind switch
    {
        ExplanationTargetKind.Predicted => "Predicted",
        ExplanationTargetKind.ClassName => $"Class(\"{Name}\")",
        ExplanationTargetKind.FixedIndex => $"Index({FixedIndex})",
        ExplanationTargetKind.IndexColumn => $"IndexColumn(\"{Name}\")",
        _ => $"UpstreamGradient(\"{Name}\")",
    };

    private static string Describe(ExplanationTargetKind kind) => kind switch
    {
        ExplanationTargetKind.Predicted => "ExplanationTarget.Predicted",
        ExplanationTargetKind.ClassName => "ExplanationTarget.Class(name)",
        ExplanationTargetKind.FixedIndex => "ExplanationTarget.Index(i)",
        ExplanationTargetKind.IndexColumn => "ExplanationTarget.IndexColumn(column)",
        _ => "ExplanationTarget.UpstreamGradient(column)",
    };

    private static string Require(string value, string parameter)
        => string.IsNullOrWhiteSpace(value) ? throw new ArgumentException("A target needs a non-empty name.", parameter) : value;
}

internal enum ExplanationTargetKind
{
    Predicted,
    ClassName,
    FixedIndex,
    IndexColumn,
    UpstreamGradient,
}
