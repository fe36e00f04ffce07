namespace MLNet.Explain.Report.Charts;

/// <summary>One bar: a value, an optional interval drawn as an error bar, and its colour.</summary>
internal sealed record Bar(string Label, double Value, string Color, double? Low = null, double? High = null, string? Tooltip = null);

/// <summary>Horizontal bars from zero, top to bottom in the given order, with optional error bars and a reference line.</summary>
internal static class BarChart
{
    private const double Width = 760;
    private const double RowHeight = 22;
    private const int MaxLabelChars = 36;

    public static string Render(string title, IReadOnlyList<Bar> bars, string axisTitle,
        double? referenceLine = null, string? referenceLabel = null)
    {
        double labelWidth = Axes.LabelWidth(bars.Select(b => b.Label), MaxLabelChars);
        double top = 36, plotHeight = Math.Max(1, bars.Count) * RowHeight;
        double bottom = top + plotHeight, height = bottom + 44;
        double left = labelWidth, right = Width - 24;

        var extent = bars.SelectMany(b => new[] { b.Value, b.Low ?? b.Value, b.High ?? b.Value });
        if (referenceLine is { } reference) extent = extent.Append(reference);
        var scale = LinearScale.Covering(extent, left, right, includeZero: true);

        var svg = new SvgWriter(Width, height, title);
        Axes.Title(svg, title);
        Axes.Horizontal(svg, scale, top, bottom, axisTitle);
        double zero = scale.Map(0);
        for (int i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            double center = top + (i + 0.5) * RowHeight;
            svg.Text(left - 8, center + 4, bar.Label, "end", 12, Palette.Ink, maxChars: MaxLabelChars);
            double end = scale.Map(bar.Value);
            svg.Rect(Math.Min(zero, end), center - RowHeight * 0.32, Math.Abs(end - zero), RowHeight * 0.64, bar.Color,
                bar.Tooltip ?? $"{bar.Label}: {Markup.Number(bar.Value)}");
            if (bar.Low is { } low && bar.High is { } high)
            {
                double x1 = scale.Map(low), x2 = scale.Map(high);
                svg.Line(x1, center, x2, center, Palette.Ink, 1.4);
                svg.Line(x1, center - 5, x1, center + 5, Palette.Ink, 1.4);
                svg.Line(x2, center - 5, x2, center + 5, Palette.Ink, 1.4);
            }
        }
        if (bars.Count == 0)
            svg.Text((left + right) / 2, top + RowHeight * 0.7, "no values", "middle", 12, Palette.Muted);
        if (referenceLine is { } line)
        {
            double x = scale.Map(line);
            svg.Line(x, top - 6, x, bottom, Palette.Warning, 1.6, dashed: true);
            if (referenceLabel is not null)
                svg.Text(x + 4, top - 8, referenceLabel, "start", 11, Palette.Warning);
        }
        return svg.Finish();
    }
}
