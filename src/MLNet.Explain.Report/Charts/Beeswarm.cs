namespace MLNet.Explain.Report.Charts;

/// <summary>
/// SHAP summary plot: one band per feature (most important on top), one dot per row at its SHAP value, dots piled up
/// where they crowd, coloured by the feature's value in that row (blue low, red high; grey when missing).
/// </summary>
internal static class Beeswarm
{
    private const double Width = 760;
    private const double BandHeight = 30;
    private const double Radius = 2.4;
    private const double LegendWidth = 70;
    private const int MaxLabelChars = 36;

    /// <summary>
    /// Draws <paramref name="features"/> top to bottom; <paramref name="shap"/> holds per feature the SHAP value of every
    /// row and <paramref name="values"/> the feature's value in the same rows.
    /// </summary>
    public static string Render(string title, IReadOnlyList<string> features, IReadOnlyList<double[]> shap,
        IReadOnlyList<double[]> values, string axisTitle)
    {
        double labelWidth = Axes.LabelWidth(features, MaxLabelChars);
        double top = 36, bottom = top + Math.Max(1, features.Count) * BandHeight, height = bottom + 44;
        double left = labelWidth, right = Width - LegendWidth - 16;
        var scale = LinearScale.Covering(shap.SelectMany(s => s), left, right, includeZero: true);

        var svg = new SvgWriter(Width, height, title);
        Axes.Title(svg, title);
        Axes.Horizontal(svg, scale, top, bottom, axisTitle);
        for (int f = 0; f < features.Count; f++)
        {
            double center = top + (f + 0.5) * BandHeight;
            svg.Text(left - 8, center + 4, features[f], "end", 12, Palette.Ink, maxChars: MaxLabelChars);
            svg.Line(left, center, right, center, Palette.Grid);
            var (low, high) = ColourRange(values[f]);
            var offsets = PileOffsets(shap[f].Select(scale.Map).ToArray(), BandHeight / 2 - Radius);
            for (int r = 0; r < shap[f].Length; r++)
            {
                if (!double.IsFinite(shap[f][r])) continue;
                double t = high > low ? (values[f][r] - low) / (high - low) : 0.5;
                svg.Circle(scale.Map(shap[f][r]), center + offsets[r], Radius, Palette.Gradient(t), opacity: 0.85);
            }
        }
        DrawLegend(svg, right + 24, top, Math.Min(bottom - top, 160));
        return svg.Finish();
    }

    /// <summary>The 5th and 95th percentiles: outliers get the end colours instead of squashing everyone else to the middle.</summary>
    private static (double Low, double High) ColourRange(double[] values)
    {
        var finite = values.Where(double.IsFinite).Order().ToArray();
        if (finite.Length == 0) return (0, 0);
        double low = finite[(int)(0.05 * (finite.Length - 1))], high = finite[(int)Math.Ceiling(0.95 * (finite.Length - 1))];
        return high > low ? (low, high) : (finite[0], finite[^1]);
    }

    /// <summary>
    /// Vertical offsets that pile dots sharing a pixel bin alternately above and below the centre line, so the
    /// band's thickness shows how many rows have that SHAP value. The spacing shrinks (down to a third of a dot) so
    /// that the most crowded bin just fills the band; beyond that, piles are cut at the band's edge.
    /// </summary>
    internal static double[] PileOffsets(double[] xs, double maxOffset)
    {
        static long Bin(double x) => (long)Math.Floor(x / (Radius * 1.6));
        var crowd = xs.Where(double.IsFinite).GroupBy(Bin).Select(g => g.Count()).DefaultIfEmpty(1).Max();
        double step = Math.Clamp(maxOffset / Math.Max(1, crowd / 2), Radius * 0.3, Radius * 0.9);
        var offsets = new double[xs.Length];
        var counts = new Dictionary<long, int>();
        for (int i = 0; i < xs.Length; i++)
        {
            if (!double.IsFinite(xs[i])) continue;
            long bin = Bin(xs[i]);
            int k = counts.TryGetValue(bin, out var c) ? c : 0;
            counts[bin] = k + 1;
            double level = (k + 1) / 2 * step;
            offsets[i] = Math.Min(level, maxOffset) * (k % 2 == 0 ? 1 : -1);
        }
        return offsets;
    }

    private static void DrawLegend(SvgWriter svg, double x, double top, double height)
    {
        const int steps = 16;
        double stepHeight = height / steps;
        for (int i = 0; i < steps; i++)
            svg.Rect(x, top + i * stepHeight, 10, stepHeight + 0.5, Palette.Gradient(1 - (i + 0.5) / steps));
        svg.Text(x + 5, top - 4, "high", "middle", 11, Palette.Muted);
        svg.Text(x + 5, top + height + 12, "low", "middle", 11, Palette.Muted);
        svg.Text(x + 24, top + height / 2, "feature value", "middle", 11, Palette.Muted, rotate: 90);
    }
}
