namespace MLNet.Explain.Report;

/// <summary>Turns the builder's stages into one fraction of the whole, weighting the expensive explanation stages.</summary>
internal sealed class ProgressTracker(IProgress<ReportProgress>? progress, bool hasShap, bool hasLime)
{
    internal enum Stage { Scoring, Shap, Lime, Writing }

    private static readonly Dictionary<Stage, (string Name, double Weight)> Stages = new()
    {
        [Stage.Scoring] = ("Scoring the data", 1),
        [Stage.Shap] = ("Computing SHAP values", 4),
        [Stage.Lime] = ("Fitting LIME surrogates", 4),
        [Stage.Writing] = ("Writing the report", 1),
    };

    private readonly double _total = Stages[Stage.Scoring].Weight + Stages[Stage.Writing].Weight
        + (hasShap ? Stages[Stage.Shap].Weight : 0) + (hasLime ? Stages[Stage.Lime].Weight : 0);
    private double _done;
    private (string Name, double Weight) _current;

    public void Start(Stage stage)
    {
        _current = Stages[stage];
        Report(0);
    }

    /// <summary>Progress within the current stage, 0..1.</summary>
    public void Report(double fraction)
        => progress?.Report(new ReportProgress(_current.Name, Math.Min(1, (_done + Math.Clamp(fraction, 0, 1) * _current.Weight) / _total)));

    public void Done()
    {
        Report(1);
        _done += _current.Weight;
    }
}
