namespace MLNet.Explain.Report;

/// <summary>What a report covers and how it judges the explanations. Defaults suit a few thousand rows.</summary>
public sealed class ReportOptions
{
    /// <summary>The label column of the data (required): metrics and label counts come from it.</summary>
    public string LabelColumn { get; set; } = "Label";

    /// <summary>Positions (0-based) of the rows to explain one by one. Null picks up to three rows: the highest, the median and the lowest model output.</summary>
    public IReadOnlyList<long>? Rows { get; set; }

    /// <summary>Heading of the report.</summary>
    public string Title { get; set; } = "Model explanation report";

    /// <summary>A name for the data shown in the report (e.g. its file name); never read from disk.</summary>
    public string? DataSource { get; set; }

    /// <summary>At most this many rows (evenly spaced) get SHAP values for the summary and dependence plots.</summary>
    public int MaxShapRows { get; set; } = 1000;

    /// <summary>At most this many rows (evenly spaced) are used for the feature correlations.</summary>
    public int MaxCorrelationRows { get; set; } = 5000;

    /// <summary>Features shown in the importance and summary charts.</summary>
    public int TopFeatures { get; set; } = 20;

    /// <summary>SHAP dependence plots drawn, for the features with the largest mean |SHAP|.</summary>
    public int DependencePlots { get; set; } = 4;

    /// <summary>Features shown individually in a row's waterfall (the rest are summed into one step).</summary>
    public int WaterfallFeatures { get; set; } = 10;

    /// <summary>Feature pairs with |Pearson r| above this are reported as strongly correlated.</summary>
    public double CorrelationThreshold { get; set; } = 0.8;

    /// <summary>LIME surrogates with a fidelity score (weighted R²) below this are flagged.</summary>
    public double LimeFidelityThreshold { get; set; } = 0.5;

    /// <summary>SHAP values must add up to the output within this times max(1, |output|).</summary>
    public double AdditivityTolerance { get; set; } = 1e-4;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(LabelColumn))
            throw new ArgumentException("The report needs the name of the label column (ReportOptions.LabelColumn).");
        if (MaxShapRows < 1) throw new ArgumentOutOfRangeException(nameof(MaxShapRows), MaxShapRows, "At least one row is needed.");
        if (MaxCorrelationRows < 2) throw new ArgumentOutOfRangeException(nameof(MaxCorrelationRows), MaxCorrelationRows, "At least two rows are needed.");
        if (TopFeatures < 1) throw new ArgumentOutOfRangeException(nameof(TopFeatures), TopFeatures, "At least one feature must be shown.");
        if (DependencePlots < 0) throw new ArgumentOutOfRangeException(nameof(DependencePlots), DependencePlots, "Must not be negative.");
        if (WaterfallFeatures < 1) throw new ArgumentOutOfRangeException(nameof(WaterfallFeatures), WaterfallFeatures, "At least one feature must be shown.");
        if (Rows?.FirstOrDefault(r => r < 0) is < 0 and var negative)
            throw new ArgumentOutOfRangeException(nameof(Rows), negative, "Row positions start at 0.");
    }
}

/// <summary>Progress of building a report: the current stage and the fraction of the whole work done.</summary>
public readonly record struct ReportProgress(string Stage, double Fraction);
