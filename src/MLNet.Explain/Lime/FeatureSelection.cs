namespace MLNet.Explain.Lime;

/// <summary>
/// LIME's feature selection (the reference's <c>LimeBase.feature_selection</c>), all on the weighted normal equations
/// of the neighbourhood, so each candidate fit is a small solve.
/// </summary>
internal static class FeatureSelection
{
    /// <summary>
    /// The features of the surrogate, at most <paramref name="count"/>, from the weighted normal equations of the
    /// neighbourhood (<paramref name="problem"/>, with intercept) and the design row of the explained instance
    /// (<paramref name="origin"/>, sample 0).
    /// </summary>
    public static int[] Select(LimeFeatureSelection method, WeightedLeastSquares problem, ReadOnlySpan<double> origin, int count)
    {
        int p = problem.ColumnCount;
        return method switch
        {
            LimeFeatureSelection.None => Enumerable.Range(0, p).ToArray(),
            LimeFeatureSelection.Forward => Forward(problem, count),
            LimeFeatureSelection.HighestWeights => HighestWeights(problem, origin, count),
            LimeFeatureSelection.LassoPath => LassoPath(problem, count),
            LimeFeatureSelection.Auto => count <= 6 ? Forward(problem, count) : HighestWeights(problem, origin, count),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown feature selection."),
        };
    }

    /// <summary>Adds, one at a time, the feature whose unpenalized fit with the features so far has the best weighted R².</summary>
    private static int[] Forward(WeightedLeastSquares problem, int count)
    {
        var used = new List<int>();
        var candidate = new List<int>();
        for (int step = 0; step < Math.Min(count, problem.ColumnCount); step++)
        {
            double best = double.NegativeInfinity;
            int bestFeature = -1;
            for (int feature = 0; feature < problem.ColumnCount; feature++)
            {
                if (used.Contains(feature)) continue;
                candidate.Clear();
                candidate.AddRange(used);
                candidate.Add(feature);
                double score = problem.Solve(0, candidate).RSquared;
                if (score > best)
                {
                    best = score;
                    bestFeature = feature;
                }
            }
            used.Add(bestFeature);
        }
        return used.ToArray();
    }

    /// <summary>The largest |coefficient × instance design value| of a ridge fit (alpha 0.01) on every feature; ties keep feature order.</summary>
    private static int[] HighestWeights(WeightedLeastSquares problem, ReadOnlySpan<double> origin, int count)
    {
        var coefficients = problem.Solve(0.01).Coefficients;
        var contributions = new double[coefficients.Length];
        for (int j = 0; j < contributions.Length; j++)
            contributions[j] = Math.Abs(coefficients[j] * origin[j]);
        return Enumerable.Range(0, coefficients.Length)
            .OrderByDescending(j => contributions[j])
            .Take(count)
            .ToArray();
    }

    /// <summary>
    /// Walks the weighted lasso path (LARS with the lasso modification) and returns the non-zero features of the
    /// least regularized point that has at most <paramref name="count"/> of them.
    /// </summary>
    private static int[] LassoPath(WeightedLeastSquares problem, int count)
    {
        var path = LarsLasso(problem.Gram, problem.Cross, problem.ColumnCount);
        int[] nonzero = Enumerable.Range(0, problem.ColumnCount).ToArray();
        for (int i = path.Count - 1; i > 0; i--)
        {
            nonzero = Enumerable.Range(0, problem.ColumnCount).Where(j => path[i][j] != 0).ToArray();
            if (nonzero.Length <= count) break;
        }
        return nonzero;
    }

    /// <summary>
    /// The lasso path by least angle regression on the Gram matrix <paramref name="gram"/> and correlations
    /// <paramref name="cross"/>: the coefficients at every breakpoint, starting from all zeros.
    /// </summary>
    internal static List<double[]> LarsLasso(ReadOnlySpan<double> gram, ReadOnlySpan<double> cross, int p)
    {
        const double tiny = 1e-12;
        var beta = new double[p];
        var path = new List<double[]> { (double[])beta.Clone() };
        var active = new List<int>();
        var excluded = new bool[p];
        var correlation = new double[p];
        bool dropped = false;
        double scale = 0;
        for (int j = 0; j < p; j++) scale = Math.Max(scale, Math.Abs(cross[j]));
        if (scale == 0) return path;

        for (int iteration = 0; iteration < 500; iteration++)
        {
            for (int j = 0; j < p; j++)
            {
                double c = cross[j];
                foreach (var a in active) c -= gram[j * p + a] * beta[a];
                correlation[j] = c;
            }
            double maxCorrelation = 0;
            int entering = -1;
            for (int j = 0; j < p; j++)
            {
                if (excluded[j] || active.Contains(j)) continue;
                if (Math.Abs(correlation[j]) > maxCorrelation)
                {
                    maxCorrelation = Math.Abs(correlation[j]);
                    entering = j;
                }
            }
            if (!dropped)
            {
                if (entering < 0 || maxCorrelation <= tiny * scale) break;
                if (!Independent(gram, p, active, entering))
                {
                    excluded[entering] = true;
                    continue;
                }
                active.Add(entering);
            }
            dropped = false;
            double current = active.Max(a => Math.Abs(correlation[a]));
            if (current <= tiny * scale) break;

            int k = active.Count;
            var signs = active.Select(a => (double)Math.Sign(correlation[a])).ToArray();
            var (system, diagonal) = Subsystem(gram, p, active);
            var w = Cholesky.Solve(system, signs, k, diagonal, new bool[k]);
            double normalization = 0;
            for (int a = 0; a < k; a++) normalization += signs[a] * w[a];
            if (!(normalization > 0)) break;
            double equiangular = 1 / Math.Sqrt(normalization);
            var direction = w.Select(v => v * equiangular).ToArray();

            double step = current / equiangular;
            for (int j = 0; j < p; j++)
            {
                if (excluded[j] || active.Contains(j)) continue;
                double along = 0;
                for (int a = 0; a < k; a++) along += gram[j * p + active[a]] * direction[a];
                foreach (var candidate in new[] { (current - correlation[j]) / (equiangular - along), (current + correlation[j]) / (equiangular + along) })
                    if (candidate > tiny && candidate < step) step = candidate;
            }
            int leaving = -1;
            for (int a = 0; a < k; a++)
            {
                if (direction[a] == 0) continue;
                double crossing = -beta[active[a]] / direction[a];
                if (crossing > tiny && crossing < step)
                {
                    step = crossing;
                    leaving = a;
                }
            }
            for (int a = 0; a < k; a++)
                beta[active[a]] += step * direction[a];
            if (leaving >= 0)
            {
                beta[active[leaving]] = 0;
                active.RemoveAt(leaving);
                dropped = true;
            }
            path.Add((double[])beta.Clone());
            if (!dropped && (Math.Abs(current - step * equiangular) <= tiny * scale || active.Count + Excluded(excluded) == p))
                break;
        }
        return path;
    }

    private static int Excluded(bool[] excluded) => excluded.Count(e => e);

    /// <summary>Whether column <paramref name="candidate"/> is linearly independent of the active columns.</summary>
    private static bool Independent(ReadOnlySpan<double> gram, int p, List<int> active, int candidate)
    {
        var columns = active.Append(candidate).ToArray();
        var kept = new bool[columns.Length];
        var (system, diagonal) = Subsystem(gram, p, columns);
        Cholesky.Solve(system, new double[columns.Length], columns.Length, diagonal, kept);
        return kept.All(k => k);
    }

    private static (double[] System, double[] Diagonal) Subsystem(ReadOnlySpan<double> gram, int p, IReadOnlyList<int> columns)
    {
        int k = columns.Count;
        var system = new double[k * k];
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
                system[a * k + b] = gram[columns[a] * p + columns[b]];
        return (system, Enumerable.Range(0, k).Select(a => system[a * k + a]).ToArray());
    }
}
