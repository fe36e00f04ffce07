using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>
/// Kernel SHAP (Lundberg and Lee 2017) for any model: the Shapley values of <c>v(S) = link(E_b[f(x_S, b_S̄)])</c> over a
/// weighted background, estimated by a weighted least-squares fit on coalitions under the Shapley kernel, with the
/// efficiency constraint <c>Σ φ = link(f(x)) − link(E_b f(b))</c> imposed exactly.
/// </summary>
/// <remarks>
/// Only the features where the row differs from some background row take part (the others get 0). With M of them,
/// the budget is <see cref="ShapOptions.NumberOfSamples"/> coalitions (default 2M + 2048). Coalition sizes are taken
/// smallest first with their complements (paired); a size class is enumerated completely when its share of the
/// kernel weight covers all its coalitions within the remaining budget, so when 2^M − 2 fits the budget every
/// coalition is used and the values are exact. The rest of the budget samples the remaining sizes in proportion to
/// their kernel weight, each draw paired with its complement; repeated draws add up. Model evaluations (coalitions x
/// background rows) go through the predictor in large batches.
/// </remarks>
internal sealed class KernelShap : RowShapAlgorithm<object>
{
    public const string Name = "Kernel";

    /// <summary>Hybrid rows scored per batch, bounding memory to about this many feature vectors.</summary>
    private const int MaxBatchRows = 1 << 17;

    /// <summary>Probabilities are clamped to [ε, 1 − ε] before the logit link so that it stays finite.</summary>
    private const double LogitEpsilon = 1e-12;

    private readonly FeatureScorer _scorer;

    public KernelShap(FeatureScorer scorer, ScoreOutput output, Background background, ShapLink link, int? samples, int? maxFeatures, int seed)
    {
        _scorer = scorer;
        ScoreOutput = output;
        Background = background;
        Link = link;
        Samples = samples;
        MaxFeatures = maxFeatures;
        Seed = seed;
        var scores = Score(background.Rows.SelectMany(r => r).ToArray(), background.Count);
        RequireFiniteScores(background, scores, OutputCount, scorer.FeatureNames);
        double total = background.TotalWeight;
        ExpectedOutputs = Enumerable.Range(0, OutputCount)
            .Select(k => Enumerable.Range(0, background.Count).Sum(b => background.Weights[b] * scores[b * OutputCount + k]) / total)
            .ToArray();
        BaseValues = ExpectedOutputs.Select(ApplyLink).ToArray();
    }

    public ScoreOutput ScoreOutput { get; }
    public Background Background { get; }
    public ShapLink Link { get; }
    public int? Samples { get; }
    public int? MaxFeatures { get; }
    public int Seed { get; }

    /// <summary>E_b[f(b)] per output, before the link.</summary>
    public double[] ExpectedOutputs { get; }

    public override int FeatureCount => _scorer.FeatureCount;
    public override int OutputCount => _scorer.OutputCount;
    public override IReadOnlyList<double> BaseValues { get; }
    protected override int RowsPerTask => 1;
    public override int BlockSize => 2 * Environment.ProcessorCount;
    protected override string SavedName => Name;

    protected override object CreateScratch() => this;

    protected override void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, object scratch)
    {
        int width = OutputCount * FeatureCount;
        for (int r = from; r < to; r++)
            ExplainRow(rows[r], values.AsSpan(r * width, width), explained.AsSpan(r * OutputCount, OutputCount));
    }

    /// <summary>Explains every output of one row (their evaluations are shared).</summary>
    private void ExplainRow(float[] x, Span<double> values, Span<double> explained)
    {
        var fx = Score(x, 1);
        for (int k = 0; k < OutputCount; k++) explained[k] = ApplyLink(fx[k]);

        var varying = Enumerable.Range(0, FeatureCount).Where(j => Background.Rows.Any(b => !SameValue(b[j], x[j]))).ToArray();
        int m = varying.Length;
        if (m == 0) return;
        if (m == 1)
        {
            for (int k = 0; k < OutputCount; k++)
                values[k * FeatureCount + varying[0]] = explained[k] - BaseValues[k];
            return;
        }

        var random = RowRandom.For(Seed, x);
        var design = KernelDesign.Build(m, Samples ?? 2 * m + 2048, random);
        var coalitionOutputs = ExpectedOnCoalitions(x, varying, design);
        if (!coalitionOutputs.All(double.IsFinite) || !explained.ToArray().All(double.IsFinite))
        {
            // The model scores NaN (or ±∞) when some of the row's values are present, as a linear model does on a
            // NaN feature: the game, hence every Shapley value of the row, is undefined.
            for (int k = 0; k < OutputCount; k++)
                foreach (int j in varying) values[k * FeatureCount + j] = double.NaN;
            return;
        }
        for (int k = 0; k < OutputCount; k++)
        {
            var targets = new double[design.Count];
            for (int c = 0; c < design.Count; c++) targets[c] = ApplyLink(coalitionOutputs[c * OutputCount + k]) - BaseValues[k];
            var phi = Solve(design, targets, explained[k] - BaseValues[k]);
            for (int j = 0; j < m; j++) values[k * FeatureCount + varying[j]] = phi[j];
        }
    }

    /// <summary>E_b[f(x_S, b_S̄)] of every coalition of <paramref name="design"/>, per output, scored in batches.</summary>
    private double[] ExpectedOnCoalitions(float[] x, int[] varying, KernelDesign design)
    {
        int n = FeatureCount, backgroundCount = Background.Count;
        var expected = new double[design.Count * OutputCount];
        int coalitionsPerBatch = Math.Max(1, MaxBatchRows / backgroundCount);
        double total = Background.TotalWeight;
        for (int first = 0; first < design.Count; first += coalitionsPerBatch)
        {
            int count = Math.Min(coalitionsPerBatch, design.Count - first);
            var hybrids = new float[count * backgroundCount * n];
            for (int c = 0; c < count; c++)
            {
                var mask = design.Mask(first + c);
                for (int b = 0; b < backgroundCount; b++)
                {
                    var hybrid = hybrids.AsSpan((c * backgroundCount + b) * n, n);
                    Background.Rows[b].CopyTo(hybrid);
                    for (int j = 0; j < mask.Length; j++)
                        if (mask[j]) hybrid[varying[j]] = x[varying[j]];
                }
            }
            var scores = Score(hybrids, count * backgroundCount);
            for (int c = 0; c < count; c++)
                for (int k = 0; k < OutputCount; k++)
                {
                    double sum = 0;
                    for (int b = 0; b < backgroundCount; b++)
                        sum += Background.Weights[b] * scores[(c * backgroundCount + b) * OutputCount + k];
                    expected[(first + c) * OutputCount + k] = sum / total;
                }
        }
        return expected;
    }

    /// <summary>
    /// The weighted least-squares values under the efficiency constraint <c>Σ φ = <paramref name="gap"/></c>: the last
    /// (selected) feature is eliminated as <c>gap − Σ others</c>, the others fitted without intercept.
    /// </summary>
    private double[] Solve(KernelDesign design, double[] targets, double gap)
    {
        int m = design.FeatureCount;
        var selected = MaxFeatures is { } k && k < m ? KernelDesign.SelectByLars(design, targets, gap, k) : Enumerable.Range(0, m).ToArray();
        var phi = new double[m];
        int last = selected[^1];
        if (selected.Length == 1)
        {
            phi[last] = gap;
            return phi;
        }
        int columns = selected.Length - 1;
        var matrix = new double[design.Count * columns];
        var adjusted = new double[design.Count];
        for (int c = 0; c < design.Count; c++)
        {
            var mask = design.Mask(c);
            double lastIn = mask[last] ? 1 : 0;
            adjusted[c] = targets[c] - lastIn * gap;
            for (int j = 0; j < columns; j++)
                matrix[c * columns + j] = (mask[selected[j]] ? 1 : 0) - lastIn;
        }
        var fit = WeightedLeastSquares.Fit(matrix, columns, adjusted, design.Weights, alpha: 0, fitIntercept: false);
        double sum = 0;
        for (int j = 0; j < columns; j++)
        {
            phi[selected[j]] = fit.Coefficients[j];
            sum += fit.Coefficients[j];
        }
        phi[last] = gap - sum;
        return phi;
    }

    private float[] Score(float[] features, int rows)
    {
        var scores = new float[rows * OutputCount];
        _scorer.Score(features, scores);
        return scores;
    }

    private double ApplyLink(double value)
        => Link == ShapLink.Logit
            ? Math.Log(Math.Clamp(value, LogitEpsilon, 1 - LogitEpsilon) / (1 - Math.Clamp(value, LogitEpsilon, 1 - LogitEpsilon)))
            : value;

    /// <summary>
    /// The base value needs a finite score on every background row; a model that scores NaN on some (a linear model on
    /// NaN features) makes every coalition's expectation NaN, so the fit fails naming the slots at fault.
    /// </summary>
    private static void RequireFiniteScores(Background background, float[] scores, int outputs, IReadOnlyList<string> featureNames)
    {
        var bad = Enumerable.Range(0, background.Count).Where(b => !Enumerable.Range(0, outputs).All(k => float.IsFinite(scores[b * outputs + k]))).ToList();
        if (bad.Count == 0) return;
        var nanSlots = bad.SelectMany(b => Enumerable.Range(0, background.Rows[b].Length).Where(j => float.IsNaN(background.Rows[b][j]))).Distinct().Order().ToList();
        throw new ArgumentException(
            $"Kernel SHAP: the model's output is not finite on {bad.Count} of the {background.Count} background rows"
            + (nanSlots.Count > 0 ? $" (they have NaN in {string.Join(", ", nanSlots.Select(j => $"'{featureNames[j]}'"))})" : "")
            + ", so the base value E[f(background)] is undefined. Remove or impute those background rows.");
    }

    private static bool SameValue(float a, float b) => a == b || (float.IsNaN(a) && float.IsNaN(b));

    protected override void SaveCore(BinaryWriter writer)
    {
        writer.Write((int)ScoreOutput);
        writer.Write((int)Link);
        writer.Write(Samples ?? -1);
        writer.Write(MaxFeatures ?? -1);
        writer.Write(Seed);
        Background.Save(writer);
    }

    public static KernelShap Load(BinaryReader reader, ModelParts parts)
    {
        var output = (ScoreOutput)reader.ReadInt32();
        var link = (ShapLink)reader.ReadInt32();
        int samples = reader.ReadInt32(), maxFeatures = reader.ReadInt32(), seed = reader.ReadInt32();
        return new KernelShap(new FeatureScorer(parts, output), output, Background.Load(reader), link,
            samples > 0 ? samples : null, maxFeatures > 0 ? maxFeatures : null, seed);
    }
}

/// <summary>The coalitions of one Kernel SHAP row with their kernel weights (summing to 1).</summary>
internal sealed class KernelDesign
{
    private readonly bool[] _masks;
    private readonly List<double> _weights;

    private KernelDesign(int featureCount, bool[] masks, List<double> weights)
    {
        FeatureCount = featureCount;
        _masks = masks;
        _weights = weights;
    }

    public int FeatureCount { get; }
    public int Count => _weights.Count;
    public ReadOnlySpan<double> Weights => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_weights);

    /// <summary>Whether each feature is in coalition <paramref name="index"/>.</summary>
    public ReadOnlySpan<bool> Mask(int index) => _masks.AsSpan(index * FeatureCount, FeatureCount);

    /// <summary>Whether every coalition (all 2^M − 2 of them) is in the design, which makes the fit exact.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>
    /// Builds the design for <paramref name="m"/> features within <paramref name="budget"/> coalitions: complete size
    /// classes first, then paired samples of the remaining sizes (see <see cref="KernelShap"/>).
    /// </summary>
    public static KernelDesign Build(int m, int budget, RowRandom random)
    {
        var masks = new List<bool[]>();
        var weights = new List<double>();
        int sizes = (m - 1 + 1) / 2, pairedSizes = (m - 1) / 2;
        var sizeWeight = new double[sizes + 1];
        for (int s = 1; s <= sizes; s++)
            sizeWeight[s] = (m - 1.0) / (s * (m - s)) * (s <= pairedSizes ? 2 : 1);
        double totalWeight = sizeWeight.Sum();
        for (int s = 1; s <= sizes; s++) sizeWeight[s] /= totalWeight;

        // Complete size classes while each coalition's share of the remaining weight is worth at least one sample.
        double remaining = budget, weightLeft = 1;
        int fullSizes = 0;
        for (int s = 1; s <= sizes; s++)
        {
            double subsets = Binomial(m, s) * (s <= pairedSizes ? 2 : 1);
            if (!(remaining * sizeWeight[s] / weightLeft / subsets >= 1 - 1e-8))
                break;
            fullSizes++;
            remaining -= subsets;
            weightLeft -= sizeWeight[s];
            double each = sizeWeight[s] / subsets;
            foreach (var subset in Subsets(m, s))
            {
                masks.Add(subset);
                weights.Add(each);
                if (s <= pairedSizes)
                {
                    masks.Add(subset.Select(b => !b).ToArray());
                    weights.Add(each);
                }
            }
            if (remaining <= 0) break;
        }

        bool complete = fullSizes == sizes;
        int samples = (int)Math.Floor(remaining);
        if (!complete && samples > 0)
        {
            // Sample the remaining sizes in proportion to their kernel weight, each draw with its complement.
            var cumulative = new double[sizes - fullSizes];
            for (int s = fullSizes + 1, i = 0; s <= sizes; s++, i++)
                cumulative[i] = (i > 0 ? cumulative[i - 1] : 0) + sizeWeight[s];
            var counts = new Dictionary<string, int>();
            int sampledStart = masks.Count;
            var order = new int[m];
            var scratch = new int[m];
            int draws = 0;
            while (draws < samples)
            {
                int size = fullSizes + 1 + random.NextIndex(cumulative);
                random.SampleWithoutReplacement(m, order.AsSpan(0, size), scratch);
                var subset = new bool[m];
                for (int i = 0; i < size; i++) subset[order[i]] = true;
                AddSample(subset);
                draws++;
                if (draws < samples && size <= pairedSizes)
                {
                    AddSample(subset.Select(b => !b).ToArray());
                    draws++;
                }
            }
            // The sampled coalitions share the weight the complete classes left, in proportion to how often each was drawn.
            double drawn = weights.Skip(sampledStart).Sum();
            for (int i = sampledStart; i < weights.Count; i++) weights[i] *= weightLeft / drawn;

            void AddSample(bool[] subset)
            {
                var key = new string(subset.Select(b => b ? '1' : '0').ToArray());
                if (counts.TryGetValue(key, out int index))
                    weights[index]++;
                else
                {
                    counts[key] = weights.Count;
                    masks.Add(subset);
                    weights.Add(1);
                }
            }
        }
        else if (!complete && weightLeft > 0 && masks.Count > 0)
        {
            // No budget for samples: the complete classes carry all the weight.
            double kept = weights.Sum();
            for (int i = 0; i < weights.Count; i++) weights[i] /= kept;
        }
        if (masks.Count == 0)
            throw new ArgumentException($"A budget of {budget} coalitions cannot explain {m} varying features; {nameof(ShapOptions.NumberOfSamples)} must allow at least one coalition.");

        var flat = new bool[masks.Count * m];
        for (int i = 0; i < masks.Count; i++) masks[i].CopyTo(flat, i * m);
        return new KernelDesign(m, flat, weights) { IsComplete = complete };
    }

    /// <summary>
    /// The <paramref name="count"/> features that enter first on a LARS path of the efficiency-augmented problem
    /// (the L1 selection of <c>num_features(k)</c>), in entry order.
    /// </summary>
    public static int[] SelectByLars(KernelDesign design, double[] targets, double gap, int count)
    {
        // Rows: each coalition z with weight w·(M − |z|) and target y, and its constraint twin z − 1 with weight
        // w·|z| and target y − gap, so the selection respects Σ φ = gap without eliminating a feature.
        int m = design.FeatureCount, rows = design.Count * 2;
        var x = new double[rows * m];
        var y = new double[rows];
        for (int c = 0; c < design.Count; c++)
        {
            var mask = design.Mask(c);
            int size = 0;
            foreach (var b in mask) if (b) size++;
            double upper = Math.Sqrt(design.Weights[c] * (m - size)), lower = Math.Sqrt(design.Weights[c] * size);
            y[2 * c] = upper * targets[c];
            y[2 * c + 1] = lower * (targets[c] - gap);
            for (int j = 0; j < m; j++)
            {
                double z = mask[j] ? 1 : 0;
                x[2 * c * m + j] = upper * z;
                x[(2 * c + 1) * m + j] = lower * (z - 1);
            }
        }
        return Lars.EntryOrder(x, y, m, count);
    }

    private static IEnumerable<bool[]> Subsets(int m, int size)
    {
        var indices = Enumerable.Range(0, size).ToArray();
        while (true)
        {
            var subset = new bool[m];
            foreach (var i in indices) subset[i] = true;
            yield return subset;
            int position = size - 1;
            while (position >= 0 && indices[position] == m - size + position) position--;
            if (position < 0) yield break;
            indices[position]++;
            for (int i = position + 1; i < size; i++) indices[i] = indices[i - 1] + 1;
        }
    }

    private static double Binomial(int n, int k)
    {
        double result = 1;
        for (int i = 1; i <= k; i++) result = result * (n - k + i) / i;
        return result;
    }
}

/// <summary>Least angle regression (Efron et al. 2004), used only for the order in which features enter.</summary>
internal static class Lars
{
    /// <summary>The first <paramref name="count"/> columns of the row-major <paramref name="x"/> to enter the LARS path for <paramref name="y"/> (no intercept).</summary>
    public static int[] EntryOrder(double[] x, double[] y, int columns, int count)
    {
        int rows = y.Length;
        var residual = (double[])y.Clone();
        var active = new List<int>();
        var correlation = new double[columns];
        while (active.Count < Math.Min(count, columns))
        {
            for (int j = 0; j < columns; j++)
            {
                double c = 0;
                for (int i = 0; i < rows; i++) c += x[i * columns + j] * residual[i];
                correlation[j] = c;
            }
            int best = -1;
            for (int j = 0; j < columns; j++)
                if (!active.Contains(j) && (best < 0 || Math.Abs(correlation[j]) > Math.Abs(correlation[best])))
                    best = j;
            if (best < 0 || Math.Abs(correlation[best]) < 1e-14) break;
            active.Add(best);
            if (active.Count == Math.Min(count, columns)) break;

            // Equiangular direction u = X_A w with w ∝ G_A⁻¹ s_A, then step until an inactive column ties.
            int a = active.Count;
            var gram = new double[a * a];
            var signs = active.Select(j => Math.Sign(correlation[j]) == 0 ? 1.0 : Math.Sign(correlation[j])).ToArray();
            for (int p = 0; p < a; p++)
                for (int q = 0; q < a; q++)
                {
                    double g = 0;
                    for (int i = 0; i < rows; i++) g += x[i * columns + active[p]] * x[i * columns + active[q]] * signs[p] * signs[q];
                    gram[p * a + q] = g + (p == q ? 1e-12 : 0);
                }
            var w = SolveSymmetric(gram, Enumerable.Repeat(1.0, a).ToArray(), a);
            double normalizer = 1 / Math.Sqrt(Math.Max(w.Sum(), 1e-300));
            var u = new double[rows];
            for (int p = 0; p < a; p++)
                for (int i = 0; i < rows; i++) u[i] += x[i * columns + active[p]] * signs[p] * w[p] * normalizer;
            double maxCorrelation = Math.Abs(correlation[active[0]]);
            double step = maxCorrelation / normalizer;
            for (int j = 0; j < columns; j++)
            {
                if (active.Contains(j)) continue;
                double aj = 0;
                for (int i = 0; i < rows; i++) aj += x[i * columns + j] * u[i];
                foreach (var candidate in new[] { (maxCorrelation - correlation[j]) / (normalizer - aj), (maxCorrelation + correlation[j]) / (normalizer + aj) })
                    if (candidate > 1e-14 && candidate < step) step = candidate;
            }
            for (int i = 0; i < rows; i++) residual[i] -= step * u[i];
        }
        return [.. active];
    }

    private static double[] SolveSymmetric(double[] matrix, double[] rhs, int n)
    {
        var a = (double[])matrix.Clone();
        var b = (double[])rhs.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int row = col + 1; row < n; row++)
                if (Math.Abs(a[row * n + col]) > Math.Abs(a[pivot * n + col])) pivot = row;
            if (pivot != col)
            {
                for (int k = 0; k < n; k++) (a[col * n + k], a[pivot * n + k]) = (a[pivot * n + k], a[col * n + k]);
                (b[col], b[pivot]) = (b[pivot], b[col]);
            }
            double diagonal = a[col * n + col];
            if (Math.Abs(diagonal) < 1e-300) continue;
            for (int row = col + 1; row < n; row++)
            {
                double factor = a[row * n + col] / diagonal;
                for (int k = col; k < n; k++) a[row * n + k] -= factor * a[col * n + k];
                b[row] -= factor * b[col];
            }
        }
        var result = new double[n];
        for (int row = n - 1; row >= 0; row--)
        {
            double sum = b[row];
            for (int k = row + 1; k < n; k++) sum -= a[row * n + k] * result[k];
            result[row] = Math.Abs(a[row * n + row]) < 1e-300 ? 0 : sum / a[row * n + row];
        }
        return result;
    }
}
