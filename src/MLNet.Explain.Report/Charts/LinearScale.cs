namespace MLNet.Explain.Report.Charts;

/// <summary>Maps data values onto a pixel range, over a domain widened to "nice" tick values (1, 2 or 5 × 10^k).</summary>
internal sealed class LinearScale
{
    private LinearScale(double min, double max, double step, double from, double to)
    {
        Min = min;
        Max = max;
        Step = step;
        _from = from;
        _to = to;
    }

    private readonly double _from;
    private readonly double _to;

    public double Min { get; }
    public double Max { get; }
    public double Step { get; }

    /// <summary>
    /// A scale covering every finite value of <paramref name="values"/> (and zero when <paramref name="includeZero"/>),
    /// with about <paramref name="tickCount"/> ticks, mapped onto pixels <paramref name="from"/>..<paramref name="to"/>.
    /// </summary>
    public static LinearScale Covering(IEnumerable<double> values, double from, double to, bool includeZero = false, int tickCount = 6)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) continue;
            low = Math.Min(low, v);
            high = Math.Max(high, v);
        }
        if (includeZero)
        {
            low = Math.Min(low, 0);
            high = Math.Max(high, 0);
        }
        if (!double.IsFinite(low))
        {
            low = 0;
            high = 1;
        }
        if (high - low < 1e-12 * Math.Max(1, Math.Abs(high)))
        {
            double pad = Math.Abs(high) > 0 ? Math.Abs(high) * 0.1 : 1;
            low -= pad;
            high += pad;
        }
        double step = NiceStep((high - low) / Math.Max(1, tickCount - 1));
        double min = Math.Floor(low / step) * step;
        double max = Math.Ceiling(high / step) * step;
        return new LinearScale(min, max, step, from, to);
    }

    /// <summary>The pixel position of <paramref name="value"/> (clamped to the domain).</summary>
    public double Map(double value)
    {
        if (!double.IsFinite(value)) value = value > 0 ? Max : Min;
        double t = (Math.Clamp(value, Min, Max) - Min) / (Max - Min);
        return _from + t * (_to - _from);
    }

    /// <summary>Tick values from <see cref="Min"/> to <see cref="Max"/>, cleaned of floating-point noise.</summary>
    public IReadOnlyList<double> Ticks()
    {
        var ticks = new List<double>();
        int count = (int)Math.Round((Max - Min) / Step);
        for (int i = 0; i <= count; i++)
        {
            double tick = Min + i * Step;
            ticks.Add(Math.Abs(tick) < Step * 1e-9 ? 0 : Math.Round(tick, 12));
        }
        return ticks;
    }

    /// <summary>The nice number (1, 2, 5 × 10^k) closest above <paramref name="rough"/>.</summary>
    public static double NiceStep(double rough)
    {
        if (!(rough > 0) || !double.IsFinite(rough)) return 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double fraction = rough / power;
        double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
        return nice * power;
    }
}
