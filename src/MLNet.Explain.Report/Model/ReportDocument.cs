namespace MLNet.Explain.Report;

/// <summary>
/// Everything a report shows, as plain values: the content of <c>explanations.json</c> (schema in docs/report.md and
/// docs/report.schema.json) and the input of the HTML renderer. Doubles that are not finite are written as JSON null.
/// </summary>
public sealed record ReportDocument
{
    /// <summary>Version of the JSON layout; bumped when a field changes meaning or is removed.</summary>
    public const string CurrentSchemaVersion = "1.0";

    public string SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Title { get; init; }
    public required string GeneratedBy { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }
    public required ModelSummary Model { get; init; }
    public required DataSummary Data { get; init; }
    public required MetricsSection Metrics { get; init; }
    public required ImportanceSection PermutationImportance { get; init; }
    public required ShapSection Shap { get; init; }
    public required LimeSection Lime { get; init; }
    public required IReadOnlyList<RowExplanation> Rows { get; init; }
    public required QualitySection Quality { get; init; }
    public required CorrelationSection Correlations { get; init; }
    public required IReadOnlyList<ReportWarning> Warnings { get; init; }
    public required IReadOnlyList<ChartFile> Charts { get; init; }
}

/// <summary>The explained model: its task, predictor and the feature vector it reads.</summary>
public sealed record ModelSummary
{
    /// <summary><c>binaryClassification</c>, <c>multiclassClassification</c>, <c>regression</c> or <c>ranking</c>.</summary>
    public required string Task { get; init; }

    /// <summary>The predictor's model parameters type (e.g. <c>FastTreeBinaryModelParameters</c>), with its calibrator if any.</summary>
    public required string Predictor { get; init; }

    /// <summary>The transformers of the pipeline, in order.</summary>
    public required IReadOnlyList<string> Pipeline { get; init; }

    public required string FeatureColumn { get; init; }
    public required IReadOnlyList<string> FeatureNames { get; init; }

    /// <summary>Class names of a multiclass model, in score order; empty otherwise.</summary>
    public required IReadOnlyList<string> Classes { get; init; }
}

/// <summary>The data the report was computed on.</summary>
public sealed record DataSummary
{
    /// <summary>File name of the data when it came from a file (no directories), else null.</summary>
    public string? Source { get; init; }

    public required long RowCount { get; init; }
    public required string LabelColumn { get; init; }
    public required IReadOnlyList<ColumnSummary> Columns { get; init; }

    /// <summary>Counts per label value for classification; empty for regression.</summary>
    public required IReadOnlyList<LabelCount> LabelCounts { get; init; }
}

public sealed record ColumnSummary(string Name, string Type);

public sealed record LabelCount(string Value, long Count);

/// <summary>The model's metrics on the report's data, from ML.NET's evaluator for the task.</summary>
public sealed record MetricsSection
{
    public required bool Available { get; init; }

    /// <summary>Why the metrics are missing, when <see cref="Available"/> is false.</summary>
    public string? Reason { get; init; }

    public required IReadOnlyList<Metric> Values { get; init; }
}

public sealed record Metric(string Name, double Value, bool HigherIsBetter);

/// <summary>Permutation feature importance: the drop in the metric when a feature's values are shuffled.</summary>
public sealed record ImportanceSection
{
    public required bool Available { get; init; }
    public string? Reason { get; init; }

    /// <summary>The metric whose change is the importance.</summary>
    public string? Metric { get; init; }

    /// <summary>The metric on the unpermuted data.</summary>
    public double? Baseline { get; init; }

    /// <summary>Whether a larger metric is better (then importance = baseline − permuted metric; else the reverse).</summary>
    public bool? HigherIsBetter { get; init; }

    /// <summary>What was permuted: <c>slots</c>, <c>groups</c> or <c>columns</c>.</summary>
    public string? Level { get; init; }

    /// <summary>Permutations per feature.</summary>
    public int? Repeats { get; init; }

    /// <summary>Features, most important first.</summary>
    public required IReadOnlyList<FeatureImportanceEntry> Features { get; init; }
}

/// <summary>One feature's importance over the permutation repeats, with a 95% confidence interval of the mean.</summary>
public sealed record FeatureImportanceEntry(
    string Name, double Mean, double StdDev, double StdErr, double Ci95Low, double Ci95High, IReadOnlyList<double> Values);

/// <summary>SHAP values of the rows the report covers (all rows, or an even sample when the data is large).</summary>
public sealed record ShapSection
{
    public required bool Available { get; init; }
    public string? Reason { get; init; }

    /// <summary>The SHAP algorithm that computed the values (e.g. <c>Tree</c>), when the stage says.</summary>
    public string? Algorithm { get; init; }

    /// <summary>What base value + Σ values add up to, in words (e.g. <c>Score</c>, or <c>log(Score)</c> for Tweedie regression).</summary>
    public string? Output { get; init; }

    /// <summary>Feature names: the columns of <see cref="Values"/> and <see cref="FeatureValues"/>.</summary>
    public required IReadOnlyList<string> FeatureNames { get; init; }

    /// <summary>Mean |SHAP| per feature over <see cref="RowIndices"/>, largest first.</summary>
    public required IReadOnlyList<FeatureValue> MeanAbs { get; init; }

    /// <summary>Positions (0-based, in the data) of the rows in <see cref="Values"/>.</summary>
    public required IReadOnlyList<long> RowIndices { get; init; }

    public required IReadOnlyList<double> BaseValues { get; init; }

    /// <summary>The explained model output of each row.</summary>
    public required IReadOnlyList<double> Outputs { get; init; }

    /// <summary>SHAP values: one array per row, one value per feature.</summary>
    public required IReadOnlyList<IReadOnlyList<double>> Values { get; init; }

    /// <summary>The feature values the model saw (after featurization): one array per row.</summary>
    public required IReadOnlyList<IReadOnlyList<double>> FeatureValues { get; init; }
}

public sealed record FeatureValue(string Name, double Value);

/// <summary>LIME surrogates of the explained rows (the per-row weights are in <see cref="ReportDocument.Rows"/>).</summary>
public sealed record LimeSection
{
    public required bool Available { get; init; }
    public string? Reason { get; init; }

    /// <summary>What the surrogates approximate (e.g. the probability of the predicted class, or the score).</summary>
    public string? Target { get; init; }
}

/// <summary>One explained row: its prediction, SHAP waterfall and LIME weights.</summary>
public sealed record RowExplanation
{
    /// <summary>Position of the row in the data, 0-based.</summary>
    public required long Index { get; init; }

    public string? Label { get; init; }
    public required Prediction Prediction { get; init; }
    public required IReadOnlyList<FeatureValue> FeatureValues { get; init; }
    public RowShap? Shap { get; init; }
    public RowLime? Lime { get; init; }
}

public sealed record Prediction
{
    public string? PredictedLabel { get; init; }

    /// <summary>The raw score (one per class for multiclass).</summary>
    public required IReadOnlyList<double> Score { get; init; }

    public double? Probability { get; init; }
}

/// <summary>A row's SHAP values: base value + Σ contributions = output.</summary>
public sealed record RowShap(double BaseValue, double Output, IReadOnlyList<Contribution> Contributions);

/// <summary>A feature's contribution to one row, with the feature's value in that row.</summary>
public sealed record Contribution(string Name, double FeatureValue, double Value);

/// <summary>
/// A row's LIME surrogate: intercept + Σ weights·features ≈ the model locally; <see cref="Score"/> is its fidelity.
/// <see cref="Class"/> is the class whose probability was explained (null for regression or when the stage does not say).
/// </summary>
public sealed record RowLime(double Intercept, double LocalPrediction, double Score, string? Class, IReadOnlyList<LimeWeight> Weights);

/// <summary>
/// A LIME weight. <see cref="Condition"/> is what the surrogate's input meant for this row when the stage discretizes
/// (e.g. <c>WorstArea &gt; 1084</c>, the row's quartile bin, or <c>Color = red</c>); null when the weight is per unit of the feature.
/// </summary>
public sealed record LimeWeight(string Name, double Value, string? Condition);

/// <summary>Checks that say how far the explanations can be trusted.</summary>
public sealed record QualitySection
{
    public Additivity? ShapAdditivity { get; init; }
    public LimeFidelity? LimeFidelity { get; init; }
}

/// <summary>SHAP's local accuracy: |base + Σφ − output| ≤ tolerance·max(1, |output|) on every row.</summary>
public sealed record Additivity(int RowsChecked, double Tolerance, double MaxAbsError, double MeanAbsError, int Violations, IReadOnlyList<long> ViolatingRows);

/// <summary>Fidelity (weighted R² on the neighbourhood) of the LIME surrogates.</summary>
public sealed record LimeFidelity(int RowsExplained, double Threshold, double MeanScore, double MinScore, IReadOnlyList<long> LowFidelityRows);

/// <summary>Feature pairs whose Pearson correlation on the report's data exceeds the threshold in absolute value.</summary>
public sealed record CorrelationSection
{
    public required double Threshold { get; init; }

    /// <summary>How many feature slots were compared (constant slots are skipped).</summary>
    public required int FeaturesCompared { get; init; }

    /// <summary>Pairs, strongest first.</summary>
    public required IReadOnlyList<CorrelatedPair> Pairs { get; init; }
}

public sealed record CorrelatedPair(string First, string Second, double R);

/// <summary>A plain-language caveat for the reader; <see cref="Code"/> is stable for tools.</summary>
public sealed record ReportWarning(string Code, string Message, IReadOnlyList<string> Features);

/// <summary>A chart written next to the report, relative to the output folder.</summary>
public sealed record ChartFile(string Id, string Title, string File);
