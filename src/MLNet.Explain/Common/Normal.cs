namespace MLNet.Explain;

/// <summary>The standard normal distribution: CDF, quantile and truncated draws for samplers.</summary>
public static class Normal
{
    private const double InverseSqrtTwoPi = 0.398942280401432677939946059934;

    public static double Density(double x) => InverseSqrtTwoPi * Math.Exp(-0.5 * x * x);

    /// <summary>Φ(x), accurate to about 1e-15 absolute (and relative in the lower tail).</summary>
    public static double Cdf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < -3) return UpperTail(-x);
        if (x > 3) return 1 - UpperTail(x);
        // Marsaglia's series Φ(x) = ½ + φ(x)(x + x³/3 + x⁵/(3·5) + …): all terms share the sign of x.
        double sum = x, term = x, squared = x * x;
        for (int n = 3; n < 200; n += 2)
        {
            term *= squared / n;
            double next = sum + term;
            if (next == sum) break;
            sum = next;
        }
        return 0.5 + Density(x) * sum;
    }

    /// <summary>
    /// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error below 1.2e-9), which is ample for
    /// sampling. ±∞ at 0 and 1.
    /// </summary>
    public static double Quantile(double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "A probability in [0, 1] was expected.");
        if (p == 0) return double.NegativeInfinity;
        if (p == 1) return double.PositiveInfinity;
        const double low = 0.02425;
        if (p < low) return LowerTailQuantile(p);
        if (p > 1 - low) return -LowerTailQuantile(1 - p);
        double q = p - 0.5, r = q * q;
        return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r
                   + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
               / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r
                    + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1);
    }

    /// <summary>
    /// A draw of N(<paramref name="mean"/>, <paramref name="std"/>²) truncated to [<paramref name="min"/>, <paramref name="max"/>],
    /// from a uniform <paramref name="u"/> in (0, 1). Use <see cref="TruncatedRange"/> once per interval and
    /// <see cref="TruncatedDraw"/> per draw when drawing often from the same interval.
    /// </summary>
    public static double Truncated(double mean, double std, double min, double max, double u)
        => TruncatedDraw(TruncatedRange(mean, std, min, max), u);

    /// <summary>The CDF bounds of a truncation interval, computed on the tail where they are accurate.</summary>
    public static TruncatedInterval TruncatedRange(double mean, double std, double min, double max)
    {
        if (!(min <= max)) throw new ArgumentException($"Truncation interval [{min}, {max}] is empty.");
        if (!(std > 0)) return new TruncatedInterval(mean, 0, min, max, 0, 0, false);
        double a = (min - mean) / std, b = (max - mean) / std;
        // Mirror an interval in the upper half so CDF values are tail probabilities (no 1 − tiny cancellation).
        bool mirrored = a + b > 0;
        if (mirrored) (a, b) = (-b, -a);
        return new TruncatedInterval(mean, std, min, max, Cdf(a), Cdf(b), mirrored);
    }

    public static double TruncatedDraw(in TruncatedInterval interval, double u)
    {
        if (interval.Std == 0 || interval.Min == interval.Max) return Math.Clamp(interval.Mean, interval.Min, interval.Max);
        double p = interval.LowerCdf + u * (interval.UpperCdf - interval.LowerCdf);
        double z = p <= 0 ? double.NegativeInfinity : Quantile(Math.Min(p, 1));
        if (interval.Mirrored) z = -z;
        return Math.Clamp(interval.Mean + interval.Std * z, interval.Min, interval.Max);
    }

    private static double LowerTailQuantile(double p)
    {
        double q = Math.Sqrt(-2 * Math.Log(p));
        return (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q
                  - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
               / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q
                   + 3.754408661907416e+00) * q + 1);
    }

    /// <summary>1 − Φ(x) for x &gt; 3, by the continued fraction of Mills' ratio (modified Lentz).</summary>
    private static double UpperTail(double x)
    {
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            d = x + n * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + n / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Density(x) / f;
    }
}

/// <summary>A truncation interval with its precomputed CDF bounds (see <see cref="Normal.TruncatedRange"/>).</summary>
public readonly record struct TruncatedInterval(double Mean, double Std, double Min, double Max, double LowerCdf, double UpperCdf, bool Mirrored);
