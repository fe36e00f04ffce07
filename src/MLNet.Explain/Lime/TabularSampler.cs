namespace MLNet.Explain.Lime;

/// <summary>
/// A row to explain, located in the training statistics: the value of each continuous feature and its quartile bin,
/// the category index of each categorical feature (-1 for a category not seen at Fit).
/// </summary>
internal sealed record TabularInstance(double[] Values, int[] Bins, int[] Categories);

/// <summary>
/// Draws LIME's neighbourhood of a row (the reference's <c>__data_inverse</c>) and its kernel weights. Sample 0 is the
/// row itself. For each sample it writes the surrogate's design row and the drawn values: a continuous value, or a
/// category index (-1: the row's own category).
/// </summary>
/// <remarks>
/// With discretization a continuous feature draws a quartile bin from the training bin frequencies, its design entry
/// is 1 when the bin is the row's bin, and its value is a truncated normal draw inside the bin (bin mean and standard
/// deviation, bin edges as bounds). Without discretization it draws a standard normal z, its value is
/// <c>z·std + mean</c> (or <c>+ row value</c> when sampling around the instance) and its design entry the
/// standardized value. A categorical feature draws a category from the training frequencies; its design entry is 1
/// when that is the row's category. A group keeps the row's values (-1) with probability ½, else draws like a
/// categorical feature. Distances are Euclidean between design rows; the kernel is
/// <c>sqrt(exp(−d²/w²))</c>.
/// </remarks>
internal sealed class TabularSampler
{
    private readonly LimeState _state;
    private readonly LimeFeatureKind[] _kinds;
    private readonly double[] _means;
    private readonly double[] _stds;
    private readonly double[][] _cumulative;
    private readonly TruncatedInterval[][] _bins;
    private readonly Dictionary<string, int>[] _categoryIndex;

    public TabularSampler(LimeState state)
    {
        _state = state;
        var features = state.Features;
        _kinds = features.Select(f => f.Kind).ToArray();
        _means = features.Select(f => f.Mean).ToArray();
        _stds = features.Select(f => f.Std).ToArray();
        _cumulative = features.Select(f => Cumulative(f.Kind == LimeFeatureKind.Continuous ? f.Bins.Select(b => b.Frequency) : f.CategoryFrequencies)).ToArray();
        _bins = features.Select(f => f.Bins.Select(b => Normal.TruncatedRange(b.Mean, b.Std, b.Min, b.Max)).ToArray()).ToArray();
        _categoryIndex = features.Select(f => f.Categories.Select((c, i) => (Key: TrainingStatistics.KeyOf(c), i))
            .ToDictionary(p => p.Key, p => p.i)).ToArray();
    }

    public int FeatureCount => _state.Features.Count;

    /// <summary>The index of a categorical value among the training categories of <paramref name="feature"/>, or -1.</summary>
    public int CategoryOf(int feature, object value)
        => _categoryIndex[feature].TryGetValue(TrainingStatistics.KeyOf(value), out var index) ? index : -1;

    /// <summary>The most frequent training category of <paramref name="feature"/> (for imputation).</summary>
    public int MostFrequentCategory(int feature)
    {
        var frequencies = _state.Features[feature].CategoryFrequencies;
        int best = 0;
        for (int i = 1; i < frequencies.Count; i++)
            if (frequencies[i] > frequencies[best]) best = i;
        return best;
    }

    /// <summary>
    /// Draws <c>weights.Length</c> samples around <paramref name="instance"/>: <paramref name="design"/> and
    /// <paramref name="values"/> are row-major (samples x features).
    /// </summary>
    public void Sample(TabularInstance instance, RowRandom random, Span<double> design, Span<double> values, Span<double> weights)
    {
        int p = FeatureCount, n = weights.Length;
        bool discretize = _state.Discretize, aroundInstance = _state.SampleAroundInstance;
        var origin = design[..p];
        for (int j = 0; j < p; j++)
        {
            bool continuous = _kinds[j] == LimeFeatureKind.Continuous;
            origin[j] = continuous && !discretize ? (instance.Values[j] - _means[j]) / _stds[j] : 1;
            values[j] = continuous ? instance.Values[j] : instance.Categories[j];
        }
        weights[0] = 1;

        double inverseWidthSquared = 1 / (_state.KernelWidth * _state.KernelWidth);
        for (int i = 1; i < n; i++)
        {
            var row = design.Slice(i * p, p);
            var drawn = values.Slice(i * p, p);
            double distanceSquared = 0;
            for (int j = 0; j < p; j++)
            {
                var kind = _kinds[j];
                if (kind == LimeFeatureKind.Group && random.NextDouble() < 0.5)
                {
                    drawn[j] = -1;
                    row[j] = 1;
                }
                else if (kind != LimeFeatureKind.Continuous)
                {
                    int category = random.NextIndex(_cumulative[j]);
                    drawn[j] = category;
                    row[j] = category == instance.Categories[j] ? 1 : 0;
                }
                else if (discretize)
                {
                    int bin = random.NextIndex(_cumulative[j], out double within);
                    drawn[j] = Normal.TruncatedDraw(_bins[j][bin], within);
                    row[j] = bin == instance.Bins[j] ? 1 : 0;
                }
                else
                {
                    double z = random.NextGaussian();
                    drawn[j] = z * _stds[j] + (aroundInstance ? instance.Values[j] : _means[j]);
                    row[j] = (drawn[j] - _means[j]) / _stds[j];
                }
                double difference = row[j] - origin[j];
                distanceSquared += difference * difference;
            }
            weights[i] = Math.Sqrt(Math.Exp(-distanceSquared * inverseWidthSquared));
        }
    }

    private static double[] Cumulative(IEnumerable<double> frequencies)
    {
        double total = 0;
        return frequencies.Select(f => total += f).ToArray();
    }
}
