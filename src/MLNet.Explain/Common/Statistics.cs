namespace MLNet.Explain;

/// <summary>Summary statistics of repeated measurements (mean, spread, t-distribution confidence intervals).</summary>
public static class Statistics
{
    /// <summary>The <paramref name="p"/>-quantile of Student's t distribution with <paramref name="degreesOfFreedom"/> degrees of freedom.</summary>
    public static double StudentTQuantile(double p, double degreesOfFreedom)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "A probability strictly between 0 and 1 is needed.");
        if (!(degreesOfFreedom > 0)) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "Degrees of freedom must be positive.");
        if (p == 0.5) return 0;
        if (p < 0.5) return -StudentTQuantile(1 - p, degreesOfFreedom);

        // For t > 0, P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t²); I_x increases with x, so bisect on x.
        double a = degreesOfFreedom / 2, target = 2 * (1 - p);
        double low = 0, high = 1;
        for (int i = 0; i < 200 && high - low > 1e-17; i++)
        {
            double middle = (low + high) / 2;
            if (RegularizedIncompleteBeta(middle, a, 0.5) < target) low = middle;
            else high = middle;
        }
        double x = (low + high) / 2;
        return Math.Sqrt(degreesOfFreedom * (1 - x) / x);
    }

    /// <summary>Mean, sample standard deviation, standard error and two-sided 95% t confidence interval of <paramref name="values"/>.</summary>
    /// <remarks>With a single value the spread is unknown: standard deviation, error and interval are NaN.</remarks>
    public static (double Mean, double StdDev, double StdErr, double Ci95Low, double Ci95High) Summarize(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values to summarize.", nameof(values));
        double mean = values.Average();
        if (values.Count == 1) return (mean, double.NaN, double.NaN, double.NaN, double.NaN);
        double sumSquares = values.Sum(v => (v - mean) * (v - mean));
        double stdDev = Math.Sqrt(sumSquares / (values.Count - 1));
        double stdErr = stdDev / Math.Sqrt(values.Count);
        double halfWidth = StudentTQuantile(0.975, values.Count - 1) * stdErr;
        return (mean, stdDev, stdErr, mean - halfWidth, mean + halfWidth);
    }

    /// <summary>The regularized incomplete beta function I_x(a, b).</summary>
    internal static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        // The continued fraction converges fast only below the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) above it.
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(logFront) * BetaContinuedFraction(x, a, b) / a
            : 1 - Math.Exp(logFront) * BetaContinuedFraction(1 - x, b, a) / b;
    }

    // Modified Lentz evaluation of the continued fraction for the incomplete beta function.
    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double result = d;
        for (int m = 1; m <= 500; m++)
        {
            double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 / NonZero(1 + even * d);
            c = NonZero(1 + even / c);
            result *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 / NonZero(1 + odd * d);
            c = NonZero(1 + odd / c);
            double step = d * c;
            result *= step;
            if (Math.Abs(step - 1) < 1e-16) break;
        }
        return result;

        static double NonZero(double v) => Math.Abs(v) < tiny ? tiny : v;
    }

    // Lanczos approximation (g = 7, 9 terms), accurate to about 15 digits for positive arguments.
    private static readonly double[] LanczosCoefficients =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    internal static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = LanczosCoefficients[0];
        for (int i = 1; i < LanczosCoefficients.Length; i++)
            sum += LanczosCoefficients[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
