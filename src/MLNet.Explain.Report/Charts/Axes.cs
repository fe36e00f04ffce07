namespace MLNet.Explain.Report.Charts;

/// <summary>Grid lines, tick labels and axis titles shared by every chart.</summary>
internal static class Axes
{
    /// <summary>A horizontal value axis below the plot area (<paramref name="top"/>..<paramref name="bottom"/>), with vertical grid lines.</summary>
    public static void Horizontal(SvgWriter svg, LinearScale scale, double top, double bottom, string title)
    {
        foreach (var tick in scale.Ticks())
        {
            double x = scale.Map(tick);
            svg.Line(x, top, x, bottom, tick == 0 ? Palette.Axis : Palette.Grid);
            svg.Text(x, bottom + 14, Markup.Number(tick), "middle", 11, Palette.Muted);
        }
        svg.Line(scale.Map(scale.Min), bottom, scale.Map(scale.Max), bottom, Palette.Axis);
        svg.Text((scale.Map(scale.Min) + scale.Map(scale.Max)) / 2, bottom + 32, title, "middle", 12, Palette.Ink);
    }

    /// <summary>A vertical value axis left of the plot area (<paramref name="left"/>..<paramref name="right"/>), with horizontal grid lines.</summary>
    public static void Vertical(SvgWriter svg, LinearScale scale, double left, double right, string title)
    {
        foreach (var tick in scale.Ticks())
        {
            double y = scale.Map(tick);
            svg.Line(left, y, right, y, tick == 0 ? Palette.Axis : Palette.Grid);
            svg.Text(left - 6, y + 4, Markup.Number(tick), "end", 11, Palette.Muted);
        }
        svg.Line(left, scale.Map(scale.Min), left, scale.Map(scale.Max), Palette.Axis);
        double middle = (scale.Map(scale.Min) + scale.Map(scale.Max)) / 2;
        svg.Text(left - 46, middle, title, "middle", 12, Palette.Ink, rotate: -90, maxChars: 40);
    }

    /// <summary>The chart's title, drawn inside the image so the standalone file says what it shows.</summary>
    public static void Title(SvgWriter svg, string title)
        => svg.Text(12, 20, title, "start", 14, Palette.Ink, bold: true, maxChars: (int)(svg.Width / 8));

    /// <summary>Room for the longest of <paramref name="labels"/> (cut at <paramref name="maxChars"/>) at 12 px.</summary>
    public static double LabelWidth(IEnumerable<string> labels, int maxChars = 36)
        => Math.Clamp(labels.Select(l => Math.Min(l.Length, maxChars)).DefaultIfEmpty(8).Max() * 7.2 + 16, 80, 310);
}
