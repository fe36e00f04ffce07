namespace MLNet.Explain;

/// <summary>How LIME picks the features of the surrogate (the reference's <c>feature_selection</c>).</summary>
public enum LimeFeatureSelection
{
    /// <summary><see cref="Forward"/> when at most 6 features are requested, else <see cref="HighestWeights"/>.</summary>
    Auto,

    /// <summary>Greedily adds the feature that most improves the weighted R² of an unpenalized fit.</summary>
    Forward,

    /// <summary>The features with the largest |coefficient × instance value| in a ridge fit (alpha 0.01) on all features.</summary>
    HighestWeights,

    /// <summary>The last point of the weighted lasso (LARS) path with at most the requested number of features.</summary>
    LassoPath,

    /// <summary>Every feature.</summary>
    None,
}

/// <summary>How a text is perturbed: which parts of it are the features.</summary>
public enum LimeTextPerturbation
{
    /// <summary>Each distinct word is a feature; removing it removes every occurrence.</summary>
    BagOfWords,

    /// <summary>Each word position is a feature; removing it replaces that occurrence by <see cref="LimeOptions.MaskToken"/>.</summary>
    Positional,
}

/// <summary>What to do with a missing value (NaN) in a row to explain.</summary>
public enum LimeMissingValues
{
    /// <summary>Throw an exception naming the column and slot.</summary>
    Throw,

    /// <summary>
    /// Explain the row with each missing value replaced by the training mean (continuous features) or the most
    /// frequent training category (categorical features); the model scores the imputed row.
    /// </summary>
    ImputeMean,
}

/// <summary>
/// Options of <c>mlContext.Explain().Lime(options)</c>. The defaults are those of the reference implementation
/// (Python <c>lime</c>'s <c>LimeTabularExplainer</c> and <c>LimeTextExplainer</c>).
/// </summary>
/// <remarks>
/// What is explained (one of, checked at Fit):
/// <list type="bullet">
/// <item>by default the slots of the predictor's feature vector (fast path: samples are scored by the predictor alone);</item>
/// <item><see cref="Columns"/> and/or <see cref="Groups"/>: raw input columns, each column or group one feature, perturbed
/// rows scored through the whole model;</item>
/// <item><see cref="TextColumn"/>: the words of a text column, perturbed texts scored through the whole model.</item>
/// </list>
/// </remarks>
public sealed class LimeOptions
{
    /// <summary>Perturbed samples per explained row, the row itself included (reference: 5000). At least 2.</summary>
    public int NumberOfSamples { get; set; } = 5000;

    /// <summary>Features kept in the surrogate (reference: 10); the other weights are 0.</summary>
    public int NumberOfFeatures { get; set; } = 10;

    public LimeFeatureSelection FeatureSelection { get; set; } = LimeFeatureSelection.Auto;

    /// <summary>
    /// Quartile discretization of continuous features (reference default: on). On: the surrogate's inputs are
    /// "same quartile bin as the row" indicators and samples are drawn bin by bin (truncated normal inside the bin).
    /// Off: samples are Gaussian with the training means and standard deviations, and the surrogate is fit on
    /// standardized values, so a weight is the model's change per training standard deviation of the feature.
    /// </summary>
    public bool Discretize { get; set; } = true;

    /// <summary>Without discretization, center the Gaussian samples on the row instead of the training mean (reference: off).</summary>
    public bool SampleAroundInstance { get; set; }

    /// <summary>Kernel width; default 0.75·√(number of features) for tabular data and 25 for text.</summary>
    public double? KernelWidth { get; set; }

    /// <summary>Ridge penalty of the surrogate (reference: 1).</summary>
    public double RidgeAlpha { get; set; } = 1.0;

    /// <summary>
    /// The class whose probability is explained: a class name (multiclass: the names of the <c>Score</c> slots;
    /// binary: <c>True</c>/<c>False</c>). Null: each row's predicted class. Must be null for regression and ranking,
    /// where the score is explained.
    /// </summary>
    public string? Class { get; set; }

    /// <summary>Seed of the per-row random generators; null: one draw from the MLContext's random source.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Feature slots (by name or index as text) or raw columns (by name) to treat as categorical: samples draw their
    /// values from the training frequencies and the surrogate sees "same value as the row" indicators. Raw text,
    /// boolean and key columns, vector columns and groups are always categorical.
    /// </summary>
    public IList<string> CategoricalFeatures { get; set; } = [];

    /// <summary>Raw input columns to explain, each one feature, scored through the whole model.</summary>
    public IList<string> Columns { get; set; } = [];

    /// <summary>
    /// Named groups of raw input columns, each group one feature: a sample either keeps the row's values of all the
    /// group's columns or takes them all from one training row.
    /// </summary>
    public IDictionary<string, string[]> Groups { get; set; } = new Dictionary<string, string[]>();

    /// <summary>A text column to explain word by word through the whole model.</summary>
    public string? TextColumn { get; set; }

    public LimeTextPerturbation TextPerturbation { get; set; } = LimeTextPerturbation.BagOfWords;

    /// <summary>What replaces a removed word with <see cref="LimeTextPerturbation.Positional"/> (reference: UNKWORDZ).</summary>
    public string MaskToken { get; set; } = "UNKWORDZ";

    public LimeMissingValues MissingValues { get; set; } = LimeMissingValues.Throw;

    /// <summary>
    /// Training rows the statistics are gathered from; larger data is reservoir-sampled (with the seed) to this many rows.
    /// </summary>
    public int MaxTrainingRows { get; set; } = 100_000;

    public string WeightsColumnName { get; set; } = "LimeWeights";
    public string InterceptColumnName { get; set; } = "LimeIntercept";
    public string LocalPredictionColumnName { get; set; } = "LimeLocalPrediction";
    public string ScoreColumnName { get; set; } = "LimeScore";

    /// <summary>For classifiers: the explained class of each row.</summary>
    public string ClassColumnName { get; set; } = "LimeClass";

    /// <summary>Text: the selected words, by decreasing absolute weight.</summary>
    public string WordsColumnName { get; set; } = "LimeWords";

    /// <summary>Text: the weights of <see cref="WordsColumnName"/>, in the same order.</summary>
    public string WordWeightsColumnName { get; set; } = "LimeWordWeights";

    internal void Validate()
    {
        if (NumberOfSamples < 2)
            throw new ArgumentOutOfRangeException(nameof(NumberOfSamples), NumberOfSamples, "LIME needs at least 2 samples per row: the row itself and one perturbation.");
        if (NumberOfFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(NumberOfFeatures), NumberOfFeatures, "The surrogate needs at least 1 feature.");
        if (KernelWidth is { } width && !(width > 0 && double.IsFinite(width)))
            throw new ArgumentOutOfRangeException(nameof(KernelWidth), width, "The kernel width must be positive and finite.");
        if (!(RidgeAlpha >= 0 && double.IsFinite(RidgeAlpha)))
            throw new ArgumentOutOfRangeException(nameof(RidgeAlpha), RidgeAlpha, "The ridge penalty must be finite and non-negative.");
        if (MaxTrainingRows < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxTrainingRows), MaxTrainingRows, "At least one training row is needed.");
        if (TextColumn is not null && (Columns.Count > 0 || Groups.Count > 0))
            throw new ArgumentException($"Explain either the text column '{TextColumn}' or raw columns/groups, not both.");
        if (TextPerturbation == LimeTextPerturbation.Positional && string.IsNullOrEmpty(MaskToken))
            throw new ArgumentException("Positional text perturbation needs a mask token.", nameof(MaskToken));
        string[] names = [WeightsColumnName, InterceptColumnName, LocalPredictionColumnName, ScoreColumnName, ClassColumnName, WordsColumnName, WordWeightsColumnName];
        if (names.Any(string.IsNullOrWhiteSpace) || names.Distinct().Count() != names.Length)
            throw new ArgumentException($"The output column names must be non-empty and distinct: {string.Join(", ", names)}.");
    }
}
