using MLNet.Explain.Pipeline;

namespace MLNet.Explain;

/// <summary>What a LIME stage explains.</summary>
public enum LimeTarget
{
    /// <summary>The slots of the predictor's feature vector, scored by the predictor alone.</summary>
    FeatureSlots,

    /// <summary>Raw input columns or groups of columns, scored through the whole model.</summary>
    Columns,

    /// <summary>The words of a text column, scored through the whole model.</summary>
    Text,
}

public enum LimeFeatureKind
{
    /// <summary>A number: discretized into quartile bins, or sampled from a Gaussian.</summary>
    Continuous,

    /// <summary>A value drawn from the training frequencies; the surrogate sees "same value as the row".</summary>
    Categorical,

    /// <summary>
    /// Several values read together (a vector column or a group of columns): a sample keeps the row's values with
    /// probability ½, else takes them all from one training row; the surrogate sees "kept" (or drawn equal).
    /// Drawing from training frequencies alone would almost never reproduce a row's joint values.
    /// </summary>
    Group,
}

/// <summary>A quartile bin of a continuous feature: where its training values lie and how often.</summary>
/// <param name="Mean">Mean of the training values in the bin (0 for an empty bin).</param>
/// <param name="Std">Their standard deviation (plus 1e-11, as the reference, so it is never 0).</param>
/// <param name="Min">Lower edge: the training minimum for the first bin, else the quartile below.</param>
/// <param name="Max">Upper edge: the quartile above, or the training maximum for the last bin.</param>
/// <param name="Frequency">Share of the training values in the bin.</param>
public sealed record LimeBin(double Mean, double Std, double Min, double Max, double Frequency);

/// <summary>Training statistics of one LIME feature (a slot, a raw column or a group of columns).</summary>
/// <param name="Name">The feature's name (slot name, column name or group name).</param>
/// <param name="Columns">Raw columns the feature reads (empty when explaining feature slots).</param>
/// <param name="Kind">Continuous or categorical.</param>
/// <param name="Mean">Training mean (continuous features).</param>
/// <param name="Std">Training standard deviation (population; 1 when the feature is constant, as scikit-learn's scaler).</param>
/// <param name="BinEdges">Distinct training quartiles (25%, 50%, 75%), ascending; a value v is in bin "number of edges &lt; v".</param>
/// <param name="Bins">One more bin than edges.</param>
/// <param name="Categories">Distinct training values of a categorical feature (plain values; an object[] per value for a group).</param>
/// <param name="CategoryFrequencies">Their training frequencies.</param>
public sealed record LimeFeatureStatistics(
    string Name,
    IReadOnlyList<string> Columns,
    LimeFeatureKind Kind,
    double Mean,
    double Std,
    IReadOnlyList<double> BinEdges,
    IReadOnlyList<LimeBin> Bins,
    IReadOnlyList<object> Categories,
    IReadOnlyList<double> CategoryFrequencies)
{
    /// <summary>The bin of <paramref name="value"/>: the number of edges below it (numpy's searchsorted, left).</summary>
    public int BinOf(double value)
    {
        int bin = 0;
        while (bin < BinEdges.Count && BinEdges[bin] < value)
            bin++;
        return bin;
    }
}

/// <summary>Names of the columns a LIME stage adds.</summary>
public sealed record LimeOutputNames(
    string Weights, string Intercept, string LocalPrediction, string Score, string Class, string Words, string WordWeights)
{
    /// <summary>The columns of the surrogate fit every explained row gets after its weights (tabular and text alike).</summary>
    internal IEnumerable<ExplanationColumn> SurrogateColumns
        => [ExplanationColumn.Scalar(Intercept), ExplanationColumn.Scalar(LocalPrediction), ExplanationColumn.Scalar(Score)];
}

/// <summary>
/// Everything a fitted LIME stage knows besides the model: its settings, seed and training statistics.
/// Immutable, so a fitted stage explains every row the same way on any thread.
/// </summary>
public sealed record LimeState(
    LimeTarget Target,
    int Seed,
    int NumberOfSamples,
    int NumberOfFeatures,
    LimeFeatureSelection FeatureSelection,
    bool Discretize,
    bool SampleAroundInstance,
    double KernelWidth,
    double RidgeAlpha,
    string? Class,
    LimeMissingValues MissingValues,
    string? TextColumn,
    LimeTextPerturbation TextPerturbation,
    string MaskToken,
    LimeOutputNames OutputNames,
    IReadOnlyList<LimeFeatureStatistics> Features)
{
    /// <summary>Samples scored in one model pass: enough to amortize the pass, small enough to bound memory.</summary>
    private const int BatchSamples = 10_000;

    /// <summary>Rows whose samples are drawn and scored together in one batch.</summary>
    internal int RowsPerBatch => BatchSamples / NumberOfSamples;
}
