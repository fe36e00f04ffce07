using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Report;

/// <summary>
/// Assembles an <see cref="ExplanationReport"/> from a model, its data and the explanation stages fitted on that model.
/// Every method is optional: a section whose method was not added says so in the report instead of disappearing.
/// </summary>
public sealed class ExplanationReportBuilder
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;
    private readonly IDataView _data;
    private readonly ReportOptions _options;
    private ImportanceSection? _importance;
    private (ITransformer Stage, ShapColumns Columns, string ExplainedOutput, string? Algorithm)? _shap;
    private (ITransformer Stage, LimeColumns Columns, string Target, LimeConditions? Conditions)? _lime;
    private readonly Dictionary<ReportMethod, string> _unavailable = [];
    private string _featureColumn = "Features";

    public ExplanationReportBuilder(MLContext mlContext, ITransformer model, IDataView data, ReportOptions options)
    {
        _mlContext = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>Adds the importances a fitted permutation importance stage computed for the report's model.</summary>
    public ExplanationReportBuilder AddPermutationImportance(PermutationImportanceTransformer stage)
    {
        CheckExplains(stage);
        var result = stage.Result;
        return AddPermutationImportance(result.Metric, result.Baseline,
            result.Features.Select(f => new FeatureImportanceEntry(f.Name, f.Mean, f.StdDev, f.StdErr, f.Ci95Low, f.Ci95High, f.Values)),
            result.HigherIsBetter, result.Level.ToString().ToLowerInvariant(), result.Repeats);
    }

    /// <summary>Adds permutation feature importance results computed elsewhere (sorted here, most important first).</summary>
    public ExplanationReportBuilder AddPermutationImportance(string metric, double baseline, IEnumerable<FeatureImportanceEntry> features,
        bool? higherIsBetter = null, string? level = null, int? repeats = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metric);
        ArgumentNullException.ThrowIfNull(features);
        _importance = new ImportanceSection
        {
            Available = true,
            Metric = metric,
            Baseline = baseline,
            HigherIsBetter = higherIsBetter,
            Level = level,
            Repeats = repeats,
            Features = features.OrderByDescending(f => f.Mean).ToList(),
        };
        _unavailable.Remove(ReportMethod.PermutationImportance);
        return this;
    }

    /// <summary>Adds a fitted SHAP stage of MLNet.Explain, with its algorithm and what its values add up to.</summary>
    public ExplanationReportBuilder AddShap(ShapTransformer stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return AddShap(stage, new ShapColumns(ShapTransformer.ValuesColumn, ShapTransformer.BaseValueColumn, ShapTransformer.OutputColumn),
            stage.ExplainedOutput, stage.Algorithm.ToString());
    }

    /// <summary>
    /// Adds a fitted SHAP stage: its values are computed for the summary rows and the explained rows.
    /// <paramref name="explainedOutput"/> names, for readers, what the values add up to (default <c>Score</c>);
    /// <paramref name="algorithm"/> names the algorithm when known.
    /// </summary>
    public ExplanationReportBuilder AddShap(ExplanationTransformer stage, ShapColumns? columns = null, string? explainedOutput = null, string? algorithm = null)
    {
        _shap = (CheckExplains(stage), columns ?? new ShapColumns(), explainedOutput ?? "Score", algorithm);
        _unavailable.Remove(ReportMethod.Shap);
        return this;
    }

    /// <summary>
    /// Adds a fitted LIME stage: it explains the report's chosen rows. <paramref name="target"/> says, for readers, what
    /// the surrogates approximate.
    /// </summary>
    public ExplanationReportBuilder AddLime(ExplanationTransformer stage, LimeColumns? columns = null, string? target = null)
        => AddLime(stage, columns ?? new LimeColumns(), target ?? "the model output the LIME stage explains", conditions: null);

    /// <summary>
    /// Adds a fitted LIME stage of MLNet.Explain: its column names, what it explains and, when it discretizes, the
    /// condition each weight stands for in a row (e.g. <c>WorstArea &gt; 1084</c>) are taken from the stage.
    /// </summary>
    public ExplanationReportBuilder AddLime(LimeTransformer stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var state = stage.State;
        if (state.Target == LimeTarget.Text)
            throw new NotSupportedException(
                $"This LIME stage explains the words of text column '{state.TextColumn}'; the report shows feature weights of tabular LIME. Use mlnet-explain lime for word weights.");
        var names = state.OutputNames;
        var kind = ModelParts.Of(stage.Model, _data.Schema).Kind;
        string explained = kind is PredictionKind.BinaryClassification or PredictionKind.MulticlassClassification
            ? state.Class is { } name ? $"the probability of class {name}" : "the probability of each row's predicted class (the margin for a binary model without calibrator)"
            : "the model's score";
        string meaning = state.Discretize
            ? "a weight is the effect of the feature lying in the row's quartile bin (or having the row's category) rather than elsewhere"
            : "a weight is the change of the output per training standard deviation of the feature";
        return AddLime(stage, new LimeColumns(names.Weights, names.Intercept, names.LocalPrediction, names.Score, names.Class),
            $"{explained}; {meaning}",
            state.Target == LimeTarget.FeatureSlots && state.Discretize ? new LimeConditions(state.Features) : null);
    }

    private ExplanationReportBuilder AddLime(ExplanationTransformer stage, LimeColumns columns, string target, LimeConditions? conditions)
    {
        _lime = (CheckExplains(stage), columns, target, conditions);
        _unavailable.Remove(ReportMethod.Lime);
        return this;
    }

    /// <summary>Records why a method is missing from the report (shown in its section).</summary>
    public ExplanationReportBuilder MarkUnavailable(ReportMethod method, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        _unavailable[method] = reason;
        return this;
    }

    /// <summary>Computes everything the report shows and renders its charts.</summary>
    public ExplanationReport Build(IProgress<ReportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var tracker = new ProgressTracker(progress, hasShap: _shap is not null, hasLime: _lime is not null);
        var parts = ModelParts.Of(_model, _data.Schema);
        _featureColumn = parts.FeatureColumnName;
        var scoredSchema = _model.GetOutputSchema(_data.Schema);
        if (scoredSchema.GetColumnOrNull(_options.LabelColumn) is null)
            throw new ArgumentException(
                $"The data has no label column '{_options.LabelColumn}'. Columns: {string.Join(", ", _data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");

        tracker.Start(ProgressTracker.Stage.Scoring);
        long rowCount = _data.GetRowCount() ?? CountRows(_data, cancellationToken);
        if (rowCount == 0) throw new ArgumentException("The data has no rows; a report needs at least one.");
        var sample = ScoredRows.SamplePositions(rowCount, _options.MaxCorrelationRows);
        var overview = ScoredRows.Read(parts, _data, _options.LabelColumn, sample, cancellationToken);
        var explainedRows = ChooseRows(overview);
        var subset = new RowSubsetDataView(_data, explainedRows);
        var explained = ScoredRows.Read(parts, subset, _options.LabelColumn, null, cancellationToken);
        var metrics = Metrics(parts, cancellationToken);
        tracker.Done();

        var shap = ReadShap(parts, rowCount, explainedRows, tracker, cancellationToken);
        var lime = ReadLime(explainedRows, tracker, cancellationToken);

        tracker.Start(ProgressTracker.Stage.Writing);
        var correlations = Correlations.Find(overview.Kept.Values.Select(k => k.Features).ToList(), parts.FeatureNames,
            CorrelationPriority(parts, shap.Section), _options.CorrelationThreshold);
        var rows = explainedRows.Select((position, i) =>
            RowSection(parts, position, explained.Kept[i], shap.ByRow.GetValueOrDefault(position), lime.ByRow.GetValueOrDefault(position)))
            .ToList();
        var quality = new QualitySection
        {
            ShapAdditivity = shap.Additivity,
            LimeFidelity = lime.Fidelity,
        };
        var importance = _importance ?? Unavailable(ReportMethod.PermutationImportance);
        var document = new ReportDocument
        {
            Title = _options.Title,
            GeneratedBy = $"MLNet.Explain {typeof(ExplanationReportBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown"}",
            GeneratedAt = DateTimeOffset.UtcNow,
            Model = ModelSection(parts, scoredSchema),
            Data = DataSection(overview, rowCount),
            Metrics = metrics,
            PermutationImportance = importance,
            Shap = shap.Section,
            Lime = lime.Section,
            Rows = rows,
            Quality = quality,
            Correlations = correlations,
            Warnings = ReportWarnings.From(metrics, shap.Section, quality, correlations, rowCount),
            Charts = [],
        };
        var charts = ReportCharts.Render(document, _options);
        tracker.Done();
        return new ExplanationReport(document with { Charts = charts.Select(c => c.File).ToList() }, charts);
    }

    private ITransformer CheckExplains(ExplanationTransformer stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        if (!ReferenceEquals(stage.Model, _model))
            throw new ArgumentException(
                $"The {stage.GetType().Name} stage explains a different model than the report's; fit it on the same model instance (stage.Model).", nameof(stage));
        return stage;
    }

    private IReadOnlyList<long> ChooseRows(ScoredRows overview)
    {
        if (_options.Rows is { } rows)
        {
            foreach (var row in rows)
                if (row >= overview.RowCount)
                    throw new ArgumentOutOfRangeException(nameof(ReportOptions.Rows), row,
                        $"Row {row} was requested but the data has {overview.RowCount} rows (positions 0 to {overview.RowCount - 1}).");
            return rows.Distinct().Order().ToList();
        }
        // The highest, median and lowest model outputs: a confident yes, a borderline case and a confident no.
        var byScore = Enumerable.Range(0, overview.Scores.Count)
            .Where(i => double.IsFinite(overview.Scores[i]))
            .OrderByDescending(i => overview.Scores[i]).ThenBy(i => i).ToList();
        if (byScore.Count == 0) return [0];
        return new long[] { byScore[0], byScore[byScore.Count / 2], byScore[^1] }.Distinct().Order().ToList();
    }

    private MetricsSection Metrics(ModelParts parts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var scored = _model.Transform(_data);
        var label = _options.LabelColumn;
        try
        {
            IReadOnlyList<Metric> values = parts.Kind switch
            {
                PredictionKind.BinaryClassification when scored.Schema.GetColumnOrNull("Probability") is not null =>
                    BinaryMetrics(_mlContext.BinaryClassification.Evaluate(scored, label)),
                PredictionKind.BinaryClassification => BinaryMetrics(_mlContext.BinaryClassification.EvaluateNonCalibrated(scored, label)),
                PredictionKind.MulticlassClassification => MulticlassMetrics(_mlContext.MulticlassClassification.Evaluate(scored, label)),
                PredictionKind.Regression => RegressionMetrics(_mlContext.Regression.Evaluate(scored, label)),
                _ => throw new NotSupportedException("ranking metrics need a group column, which the report does not take"),
            };
            return new MetricsSection { Available = true, Values = values };
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or FormatException)
        {
            return new MetricsSection { Available = false, Reason = $"ML.NET's evaluator could not score this data: {e.Message}", Values = [] };
        }
    }

    private static List<Metric> BinaryMetrics(BinaryClassificationMetrics m)
    {
        var metrics = new List<Metric>
        {
            new("Accuracy", m.Accuracy, true),
            new("AUC", m.AreaUnderRocCurve, true),
            new("AUPRC", m.AreaUnderPrecisionRecallCurve, true),
            new("F1", m.F1Score, true),
            new("Precision", m.PositivePrecision, true),
            new("Recall", m.PositiveRecall, true),
        };
        if (m is CalibratedBinaryClassificationMetrics calibrated)
            metrics.Add(new Metric("LogLoss", calibrated.LogLoss, false));
        return metrics;
    }

    private static List<Metric> MulticlassMetrics(MulticlassClassificationMetrics m) =>
    [
        new("MicroAccuracy", m.MicroAccuracy, true),
        new("MacroAccuracy", m.MacroAccuracy, true),
        new("LogLoss", m.LogLoss, false),
    ];

    private static List<Metric> RegressionMetrics(RegressionMetrics m) =>
    [
        new("RSquared", m.RSquared, true),
        new("MeanAbsoluteError", m.MeanAbsoluteError, false),
        new("RootMeanSquaredError", m.RootMeanSquaredError, false),
    ];

    private sealed record ShapResult(ShapSection Section, Dictionary<long, RowShap> ByRow, Additivity? Additivity);

    private ShapResult ReadShap(ModelParts parts, long rowCount, IReadOnlyList<long> explainedRows, ProgressTracker tracker, CancellationToken cancellationToken)
    {
        if (_shap is not { } shap)
            return new ShapResult(UnavailableShap(), [], null);

        var positions = ScoredRows.SamplePositions(rowCount, _options.MaxShapRows).Union(explainedRows).Order().ToList();
        tracker.Start(ProgressTracker.Stage.Shap);
        var (names, rows) = StageReader.ReadShap(shap.Stage, _data, positions, parts.FeatureColumnName, shap.Columns,
            done => tracker.Report((double)done / positions.Count), cancellationToken);
        tracker.Done();

        var meanAbs = names.Select((name, f) => new FeatureValue(name, rows.Count == 0 ? 0 : rows.Average(r => Math.Abs(r.Values[f]))))
            .OrderByDescending(f => f.Value).ToList();
        var section = new ShapSection
        {
            Available = true,
            Algorithm = shap.Algorithm,
            Output = shap.ExplainedOutput,
            FeatureNames = names,
            MeanAbs = meanAbs,
            RowIndices = rows.Select(r => r.Position).ToList(),
            BaseValues = rows.Select(r => r.BaseValue).ToList(),
            Outputs = rows.Select(r => r.Output).ToList(),
            Values = rows.Select(r => (IReadOnlyList<double>)r.Values).ToList(),
            FeatureValues = rows.Select(r => (IReadOnlyList<double>)r.Features).ToList(),
        };
        var byRow = rows.ToDictionary(r => r.Position, r => new RowShap(r.BaseValue, r.Output,
            names.Select((name, f) => new Contribution(name, r.Features[f], r.Values[f])).OrderByDescending(c => Math.Abs(c.Value)).ToList()));
        return new ShapResult(section, byRow, CheckAdditivity(rows));
    }

    private Additivity CheckAdditivity(IReadOnlyList<StageReader.ShapRow> rows)
    {
        var errors = rows.Select(r => (r.Position, Output: r.Output, Error: Math.Abs(r.BaseValue + r.Values.Sum() - r.Output))).ToList();
        var violating = errors.Where(e => !(e.Error <= _options.AdditivityTolerance * Math.Max(1, Math.Abs(e.Output)))).Select(e => e.Position).ToList();
        return new Additivity(
            RowsChecked: rows.Count,
            Tolerance: _options.AdditivityTolerance,
            MaxAbsError: errors.Count == 0 ? 0 : errors.Max(e => e.Error),
            MeanAbsError: errors.Count == 0 ? 0 : errors.Average(e => e.Error),
            Violations: violating.Count,
            ViolatingRows: violating.Take(20).ToList());
    }

    private sealed record LimeResult(LimeSection Section, Dictionary<long, RowLime> ByRow, LimeFidelity? Fidelity);

    private LimeResult ReadLime(IReadOnlyList<long> explainedRows, ProgressTracker tracker, CancellationToken cancellationToken)
    {
        if (_lime is not { } lime)
            return new LimeResult(new LimeSection { Available = false, Reason = ReasonFor(ReportMethod.Lime) }, [], null);

        tracker.Start(ProgressTracker.Stage.Lime);
        var (names, rows) = StageReader.ReadLime(lime.Stage, _data, explainedRows, _featureColumn, lime.Columns,
            done => tracker.Report((double)done / explainedRows.Count), cancellationToken);
        tracker.Done();

        var byRow = rows.ToDictionary(r => r.Position, r => new RowLime(r.Intercept, r.LocalPrediction, r.Score, r.Class,
            names.Select((name, f) => new LimeWeight(name, r.Weights[f], lime.Conditions?.Of(f, r.Features)))
                .Where(w => w.Value != 0).OrderByDescending(w => Math.Abs(w.Value)).ToList()));
        var scores = rows.Select(r => r.Score).ToList();
        var fidelity = new LimeFidelity(
            RowsExplained: rows.Count,
            Threshold: _options.LimeFidelityThreshold,
            MeanScore: scores.Count == 0 ? double.NaN : scores.Average(),
            MinScore: scores.Count == 0 ? double.NaN : scores.Min(),
            LowFidelityRows: rows.Where(r => !(r.Score >= _options.LimeFidelityThreshold)).Select(r => r.Position).ToList());
        return new LimeResult(new LimeSection { Available = true, Target = lime.Target }, byRow, fidelity);
    }

    /// <summary>Most important features first, so that with many slots the correlations cover the ones that matter.</summary>
    private IEnumerable<int> CorrelationPriority(ModelParts parts, ShapSection shap)
    {
        var index = parts.FeatureNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        IEnumerable<string> ranked = _importance is { Available: true } importance ? importance.Features.Select(f => f.Name)
            : shap.Available ? shap.MeanAbs.Select(f => f.Name)
            : [];
        return ranked.Where(index.ContainsKey).Select(name => index[name]).Concat(Enumerable.Range(0, parts.FeatureCount)).Distinct();
    }

    private RowExplanation RowSection(ModelParts parts, long position, ScoredRows.KeptRow row, RowShap? shap, RowLime? lime) => new()
    {
        Index = position,
        Label = row.Label,
        Prediction = new Prediction { PredictedLabel = row.PredictedLabel, Score = row.Score, Probability = row.Probability },
        FeatureValues = parts.FeatureNames.Select((name, f) => new FeatureValue(name, row.Features[f])).ToList(),
        Shap = shap,
        Lime = lime,
    };

    private static ModelSummary ModelSection(ModelParts parts, DataViewSchema scoredSchema) => new()
    {
        Task = parts.Kind switch
        {
            PredictionKind.BinaryClassification => "binaryClassification",
            PredictionKind.MulticlassClassification => "multiclassClassification",
            PredictionKind.Regression => "regression",
            _ => "ranking",
        },
        Predictor = DescribePredictor(parts.Predictor.Model),
        Pipeline = Flatten(parts.Model).Select(t => TypeName(t.GetType())).ToList(),
        FeatureColumn = parts.FeatureColumnName,
        FeatureNames = parts.FeatureNames,
        Classes = parts.Kind == PredictionKind.MulticlassClassification && scoredSchema.GetColumnOrNull("Score") is { } score
            ? SlotNames.Of(score)
            : [],
    };

    private DataSummary DataSection(ScoredRows overview, long rowCount) => new()
    {
        Source = _options.DataSource is { } source ? Path.GetFileName(source) : null,
        RowCount = rowCount,
        LabelColumn = _options.LabelColumn,
        Columns = _data.Schema.Where(c => !c.IsHidden).Select(c => new ColumnSummary(c.Name, c.Type.ToString() ?? c.Type.RawType.Name)).ToList(),
        LabelCounts = overview.LabelCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => new LabelCount(p.Key, p.Value)).ToList(),
    };

    private static string DescribePredictor(object model)
        => model is CalibratedModelParametersBase { SubModel: { } inner, Calibrator: { } calibrator }
            ? $"{TypeName(inner.GetType())} (calibrated by {TypeName(calibrator.GetType())})"
            : TypeName(model.GetType());

    private static string TypeName(Type type)
        => type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>" : type.Name;

    private static IEnumerable<ITransformer> Flatten(ITransformer model)
        => model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    private static long CountRows(IDataView data, CancellationToken cancellationToken)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            if ((count++ & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
        }
        return count;
    }

    private string ReasonFor(ReportMethod method)
        => _unavailable.GetValueOrDefault(method) ?? method switch
        {
            ReportMethod.PermutationImportance => "No permutation importance results were added to this report.",
            ReportMethod.Shap => "No SHAP stage was added to this report.",
            _ => "No LIME stage was added to this report.",
        };

    private ImportanceSection Unavailable(ReportMethod method) => new() { Available = false, Reason = ReasonFor(method), Features = [] };

    private ShapSection UnavailableShap() => new()
    {
        Available = false,
        Reason = ReasonFor(ReportMethod.Shap),
        FeatureNames = [],
        MeanAbs = [],
        RowIndices = [],
        BaseValues = [],
        Outputs = [],
        Values = [],
        FeatureValues = [],
    };
}

/// <summary>The explanation methods a report can show.</summary>
public enum ReportMethod
{
    PermutationImportance,
    Shap,
    Lime,
}
