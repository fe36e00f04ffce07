using System.Buffers;
using System.Numerics.Tensors;

namespace MLNet.Explain;

/// <summary>
/// Weighted ridge regression solved in double precision: minimizes
/// <c>Σ wᵢ (yᵢ − b − xᵢ·β)² + α‖β‖²</c> (the intercept <c>b</c> is not penalized; it is 0 without intercept).
/// The surrogate fit of LIME and Kernel SHAP.
/// </summary>
/// <remarks>
/// The weighted normal equations (centered on the weighted means when fitting an intercept) are accumulated once, so
/// many fits on subsets of the columns (forward selection, lasso paths) cost only a small Cholesky solve each.
/// A column that is constant or a linear combination of earlier columns of the subset (only possible with α = 0)
/// gets coefficient 0 instead of making the system singular.
/// </remarks>
public sealed class WeightedLeastSquares
{
    private readonly double[] _gram;
    private readonly double[] _cross;
    private readonly double[] _columnMeans;
    private readonly double[] _columnSquares;
    private readonly double _targetMean;
    private readonly double _targetSquares;
    private readonly double _totalSquares;

    private WeightedLeastSquares(int columnCount, bool fitIntercept, double[] gram, double[] cross, double[] columnMeans,
        double[] columnSquares, double targetMean, double targetSquares, double totalSquares)
    {
        ColumnCount = columnCount;
        FitsIntercept = fitIntercept;
        _gram = gram;
        _cross = cross;
        _columnMeans = columnMeans;
        _columnSquares = columnSquares;
        _targetMean = targetMean;
        _targetSquares = targetSquares;
        _totalSquares = totalSquares;
    }

    public int ColumnCount { get; }
    public bool FitsIntercept { get; }

    /// <summary>
    /// The weighted Gram matrix <c>XᵀWX</c> (columns centered on their weighted means when fitting an intercept),
    /// row-major <see cref="ColumnCount"/> x <see cref="ColumnCount"/>.
    /// </summary>
    public ReadOnlySpan<double> Gram => _gram;

    /// <summary><c>XᵀWy</c>, centered like <see cref="Gram"/>.</summary>
    public ReadOnlySpan<double> Cross => _cross;

    /// <summary>Fits all columns of the row-major <paramref name="design"/> in one call.</summary>
    public static WeightedRegression Fit(ReadOnlySpan<double> design, int columnCount, ReadOnlySpan<double> targets,
        ReadOnlySpan<double> weights, double alpha = 1.0, bool fitIntercept = true)
        => Prepare(design, columnCount, targets, weights, fitIntercept).Solve(alpha);

    /// <summary>
    /// Accumulates the weighted normal equations of the row-major matrix <paramref name="design"/>
    /// (<c>targets.Length</c> rows x <paramref name="columnCount"/>) with one non-negative weight per row.
    /// </summary>
    public static WeightedLeastSquares Prepare(ReadOnlySpan<double> design, int columnCount, ReadOnlySpan<double> targets,
        ReadOnlySpan<double> weights, bool fitIntercept = true)
    {
        int rows = targets.Length;
        if (columnCount < 0) throw new ArgumentOutOfRangeException(nameof(columnCount), "The column count cannot be negative.");
        if (rows == 0) throw new ArgumentException("Weighted least squares needs at least one row.", nameof(targets));
        if (design.Length != rows * columnCount)
            throw new ArgumentException($"The design matrix has {design.Length} values; {rows} rows x {columnCount} columns were expected.", nameof(design));
        if (weights.Length != rows)
            throw new ArgumentException($"Got {weights.Length} weights for {rows} rows.", nameof(weights));

        double weightSum = 0;
        for (int i = 0; i < rows; i++)
        {
            if (!(weights[i] >= 0) || double.IsPositiveInfinity(weights[i]))
                throw new ArgumentException($"Weight {i} is {weights[i]}; weights must be finite and non-negative.", nameof(weights));
            if (!double.IsFinite(targets[i]))
                throw new ArgumentException($"Target {i} is {targets[i]}; targets must be finite.", nameof(targets));
            weightSum += weights[i];
        }
        if (weightSum <= 0) throw new ArgumentException("The weights sum to zero; at least one row needs a positive weight.", nameof(weights));

        // Column-major copies (centered, and centered times weight) turn every Gram entry into one long dot product.
        var pool = ArrayPool<double>.Shared;
        var columns = pool.Rent(rows * columnCount);
        var weighted = pool.Rent(rows * columnCount);
        try
        {
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columnCount; j++)
                    columns[j * rows + i] = design[i * columnCount + j];

            var columnMeans = new double[columnCount];
            var columnSquares = new double[columnCount];
            for (int j = 0; j < columnCount; j++)
            {
                var column = columns.AsSpan(j * rows, rows);
                var weightedColumn = weighted.AsSpan(j * rows, rows);
                TensorPrimitives.Multiply(column, weights, weightedColumn);
                columnMeans[j] = TensorPrimitives.Sum<double>(weightedColumn) / weightSum;
                columnSquares[j] = TensorPrimitives.Dot<double>(weightedColumn, column);
                if (!double.IsFinite(columnMeans[j]) || !double.IsFinite(columnSquares[j]))
                    throw new ArgumentException($"Design column {j} holds a value that is not finite.", nameof(design));
                if (fitIntercept)
                {
                    TensorPrimitives.Subtract(column, columnMeans[j], column);
                    TensorPrimitives.Multiply(column, weights, weightedColumn);
                }
            }

            double targetMean = TensorPrimitives.Dot(targets, weights) / weightSum;
            var centeredTargets = new double[rows];
            TensorPrimitives.Subtract(targets, fitIntercept ? targetMean : 0, centeredTargets);
            var weightedTargets = new double[rows];
            TensorPrimitives.Multiply(centeredTargets, weights, weightedTargets);
            double targetSquares = TensorPrimitives.Dot<double>(weightedTargets, centeredTargets);
            double totalSquares = fitIntercept ? targetSquares : targetSquares - weightSum * targetMean * targetMean;

            var gram = new double[columnCount * columnCount];
            var cross = new double[columnCount];
            for (int j = 0; j < columnCount; j++)
            {
                var weightedColumn = weighted.AsSpan(j * rows, rows);
                cross[j] = TensorPrimitives.Dot<double>(weightedColumn, centeredTargets);
                for (int k = j; k < columnCount; k++)
                    gram[j * columnCount + k] = gram[k * columnCount + j] = TensorPrimitives.Dot<double>(weightedColumn, columns.AsSpan(k * rows, rows));
            }
            return new WeightedLeastSquares(columnCount, fitIntercept, gram, cross, columnMeans, columnSquares, targetMean, targetSquares, Math.Max(totalSquares, 0));
        }
        finally
        {
            pool.Return(columns);
            pool.Return(weighted);
        }
    }

    /// <summary>Fits every column with ridge penalty <paramref name="alpha"/>.</summary>
    public WeightedRegression Solve(double alpha)
        => Solve(alpha, Enumerable.Range(0, ColumnCount).ToArray());

    /// <summary>
    /// Fits only <paramref name="columns"/> with ridge penalty <paramref name="alpha"/>; the other columns get
    /// coefficient 0. The weighted R² is measured on the rows and weights given to <see cref="Prepare"/>.
    /// </summary>
    public WeightedRegression Solve(double alpha, IReadOnlyList<int> columns)
    {
        if (!(alpha >= 0) || !double.IsFinite(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The ridge penalty must be finite and non-negative.");
        int k = columns.Count;
        var system = new double[k * k];
        var rhs = new double[k];
        var scales = new double[k];
        for (int a = 0; a < k; a++)
        {
            int ca = columns[a];
            if ((uint)ca >= (uint)ColumnCount)
                throw new ArgumentOutOfRangeException(nameof(columns), $"Column {ca} does not exist; the design has {ColumnCount} columns.");
            rhs[a] = _cross[ca];
            for (int b = 0; b < k; b++)
                system[a * k + b] = _gram[ca * ColumnCount + columns[b]];
            system[a * k + a] += alpha;
            scales[a] = _columnSquares[ca] + alpha;
        }
        var solution = Cholesky.Solve(system, rhs, k, scales, new bool[k]);

        var coefficients = new double[ColumnCount];
        double fitted = 0, residualSquares = _targetSquares;
        for (int a = 0; a < k; a++)
        {
            coefficients[columns[a]] = solution[a];
            residualSquares -= 2 * solution[a] * rhs[a];
            for (int b = 0; b < k; b++)
                fitted += solution[a] * _gram[columns[a] * ColumnCount + columns[b]] * solution[b];
        }
        residualSquares = Math.Max(0, residualSquares + fitted);

        double intercept = 0;
        if (FitsIntercept)
        {
            intercept = _targetMean;
            for (int j = 0; j < ColumnCount; j++)
                intercept -= coefficients[j] * _columnMeans[j];
        }
        double rSquared = _totalSquares > 0 ? 1 - residualSquares / _totalSquares : residualSquares == 0 ? 1 : 0;
        return new WeightedRegression(coefficients, intercept, rSquared);
    }
}

/// <summary>A fitted weighted linear model: <c>y ≈ Intercept + Σ Coefficients[j]·x[j]</c>.</summary>
/// <param name="Coefficients">One coefficient per design column (0 for columns left out of the fit).</param>
/// <param name="Intercept">The unpenalized intercept (0 when fitted without intercept).</param>
/// <param name="RSquared">Weighted R² on the fitted rows: <c>1 − Σw(y−ŷ)² / Σw(y−ȳ_w)²</c>.</param>
public sealed record WeightedRegression(double[] Coefficients, double Intercept, double RSquared)
{
    public double Predict(ReadOnlySpan<double> row)
    {
        if (row.Length != Coefficients.Length)
            throw new ArgumentException($"The row has {row.Length} values; the model has {Coefficients.Length} coefficients.", nameof(row));
        double value = Intercept;
        for (int j = 0; j < row.Length; j++)
            value += Coefficients[j] * row[j];
        return value;
    }
}
