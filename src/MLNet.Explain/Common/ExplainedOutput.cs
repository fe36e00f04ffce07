using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// The model output an explanation explains and how to read one number from it: for classifiers the probability of a
/// class (binary without calibrator: its margin), for regression and ranking the score. The output column is the same
/// one <see cref="FeatureScorer"/> returns with <see cref="ScoreOutput.Probability"/>, so slot-level and whole-model
/// scoring explain the same quantity.
/// </summary>
public sealed class ExplainedOutput
{
    private ExplainedOutput(PredictionKind kind, string columnName, int outputCount, bool isProbability, IReadOnlyList<string> classNames)
    {
        Kind = kind;
        ColumnName = columnName;
        OutputCount = outputCount;
        IsProbability = isProbability;
        ClassNames = classNames;
    }

    public PredictionKind Kind { get; }

    /// <summary><c>Probability</c> (calibrated binary classifiers) or <c>Score</c>.</summary>
    public string ColumnName { get; }

    /// <summary>Values per row in <see cref="ColumnName"/>: the number of classes for multiclass, else 1.</summary>
    public int OutputCount { get; }

    public bool IsProbability { get; }

    /// <summary>Class names (binary: <c>False</c>, <c>True</c>; multiclass: the <c>Score</c> slot names); empty for regression and ranking.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    public bool IsClassifier => ClassNames.Count > 0;

    /// <summary>Describes the explained output of <paramref name="parts"/>' predictor in the model's output schema.</summary>
    public static ExplainedOutput Of(ModelParts parts, DataViewSchema modelOutput)
    {
        var score = modelOutput.GetColumnOrNull("Score")
            ?? throw new ArgumentException($"The model's output has no 'Score' column; columns: {string.Join(", ", modelOutput.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        switch (parts.Kind)
        {
            case PredictionKind.BinaryClassification:
                bool calibrated = modelOutput.GetColumnOrNull("Probability") is not null;
                return new ExplainedOutput(parts.Kind, calibrated ? "Probability" : "Score", 1, calibrated, ["False", "True"]);
            case PredictionKind.MulticlassClassification:
                if (score.Type is not VectorDataViewType { Size: > 0 } vector)
                    throw new ArgumentException($"The multiclass model's 'Score' column has type {score.Type}; a vector of class scores was expected.");
                var names = score.Annotations.Schema.GetColumnOrNull(SlotNames.SlotNamesKind) is not null
                    ? SlotNames.Of(score)
                    : Enumerable.Range(0, vector.Size).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                return new ExplainedOutput(parts.Kind, "Score", vector.Size, true, names);
            default:
                return new ExplainedOutput(parts.Kind, "Score", 1, false, []);
        }
    }

    /// <summary>The index of class <paramref name="name"/> (case-insensitive); -1 for null (each row's predicted class).</summary>
    public int ClassIndex(string? name)
    {
        if (name is null) return IsClassifier ? -1 : 0;
        if (!IsClassifier)
            throw new ArgumentException($"Class '{name}' was requested, but the model is a {Kind} model, which has no classes; its score is explained.");
        for (int i = 0; i < ClassNames.Count; i++)
            if (string.Equals(ClassNames[i], name, StringComparison.OrdinalIgnoreCase))
                return i;
        if (Kind == PredictionKind.BinaryClassification && name is "1" or "0")
            return name == "1" ? 1 : 0;
        throw new ArgumentException($"The model has no class '{name}'; its classes are: {string.Join(", ", ClassNames)}.");
    }

    /// <summary>The class the model predicts from its <c>Score</c> values (binary: score above 0, as ML.NET's PredictedLabel).</summary>
    public int PredictedClass(ReadOnlySpan<float> scores)
    {
        if (!IsClassifier) return 0;
        if (Kind == PredictionKind.BinaryClassification) return scores[0] > 0 ? 1 : 0;
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>The explained number for class <paramref name="classIndex"/> from one row of <see cref="ColumnName"/> values.</summary>
    public double Value(ReadOnlySpan<float> outputs, int classIndex) => Kind switch
    {
        PredictionKind.BinaryClassification => classIndex == 1 ? outputs[0] : IsProbability ? 1.0 - outputs[0] : -outputs[0],
        PredictionKind.MulticlassClassification => outputs[classIndex],
        _ => outputs[0],
    };
}
