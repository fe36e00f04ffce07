namespace MLNet.Explain;

/// <summary>Cholesky solves of small symmetric positive semi-definite systems (normal equations, Gram matrices).</summary>
internal static class Cholesky
{
    /// <summary>
    /// Solves the row-major n x n system <paramref name="matrix"/> · x = <paramref name="rhs"/>. A column whose pivot
    /// vanishes (its diagonal is tiny relative to <paramref name="scales"/>, or it depends linearly on earlier columns)
    /// is left out: its <paramref name="kept"/> flag is false and its solution 0. <paramref name="scales"/> holds, per
    /// column, the magnitude its diagonal is compared with (e.g. its raw sum of squares).
    /// </summary>
    public static double[] Solve(ReadOnlySpan<double> matrix, ReadOnlySpan<double> rhs, int n, ReadOnlySpan<double> scales, Span<bool> kept)
    {
        var lower = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            double diagonal = matrix[j * n + j];
            double pivot = diagonal;
            for (int m = 0; m < j; m++)
                pivot -= lower[j * n + m] * lower[j * n + m];
            kept[j] = diagonal > 1e-12 * scales[j] && pivot > 1e-10 * diagonal;
            if (!kept[j]) continue;
            double root = Math.Sqrt(pivot);
            lower[j * n + j] = root;
            for (int i = j + 1; i < n; i++)
            {
                double value = matrix[i * n + j];
                for (int m = 0; m < j; m++)
                    value -= lower[i * n + m] * lower[j * n + m];
                lower[i * n + j] = value / root;
            }
        }

        var forward = new double[n];
        for (int i = 0; i < n; i++)
        {
            if (!kept[i]) continue;
            double value = rhs[i];
            for (int m = 0; m < i; m++)
                value -= lower[i * n + m] * forward[m];
            forward[i] = value / lower[i * n + i];
        }
        var solution = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            if (!kept[i]) continue;
            double value = forward[i];
            for (int m = i + 1; m < n; m++)
                value -= lower[m * n + i] * solution[m];
            solution[i] = value / lower[i * n + i];
        }
        return solution;
    }
}
