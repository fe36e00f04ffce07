using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Lime;

/// <summary>
/// Which class a LIME stage explains for each row: a fixed class, or the class the model predicts for the row (read
/// from the row's <c>Score</c>). For regression and ranking the score itself is explained and there is no class column.
/// </summary>
internal sealed class LimeClassChoice
{
    private const string ScoreColumn = "Score";
    private readonly int _fixedClass;

    public LimeClassChoice(ExplainedOutput output, string? className, string classColumnName)
    {
        Output = output;
        _fixedClass = output.ClassIndex(className);
        InputColumns = _fixedClass < 0 ? [ScoreColumn] : [];
        OutputColumns = output.IsClassifier ? [ExplanationColumn.Text(classColumnName)] : [];
    }

    public ExplainedOutput Output { get; }
    public IReadOnlyList<string> InputColumns { get; }
    public IReadOnlyList<ExplanationColumn> OutputColumns { get; }

    public int ClassOf(RowBlock block, int row)
    {
        if (_fixedClass >= 0) return _fixedClass;
        var scores = block.Get(row, ScoreColumn) switch
        {
            float single => [single],
            float[] vector => vector,
            var other => throw new InvalidOperationException($"The model's 'Score' column holds {other.GetType().Name}; Single or a vector of Single was expected."),
        };
        return Output.PredictedClass(scores);
    }

    /// <summary>Writes the explained class's name at <paramref name="index"/> (classifiers only).</summary>
    public void WriteClass(object[] output, int index, int classIndex)
    {
        if (Output.IsClassifier) output[index] = Output.ClassNames[classIndex];
    }
}
