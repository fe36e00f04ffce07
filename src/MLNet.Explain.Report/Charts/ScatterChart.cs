namespace MLNet.Explain.Report.Charts;

/// <summary>One dot of a scatter chart.</summary>
internal readonly record struct Point(double X, double Y, string Color);

/// <summary>A scatter plot with value axes, used for SHAP dependence plots and the additivity check.</summary>
internal static class ScatterChart
{
    public const double Width = 380;
    public const double Height = 300;

    /// <summary>Draws the points; <paramref name="identityLine"/> adds y = x (for a quantity plotted against another that should equal it).</summary>
    public static string Render(string title, IReadOnlyList<Point> points, string xTitle, string yTitle, bool identityLine = false)
    {
        double left = 64, right = Width - 16, top = 36, bottom = Height - 46;
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var xs = finite.Select(p => p.X);
        var ys = finite.Select(p => p.Y);
        if (identityLine)
        {
            xs = ys = xs.Concat(ys).ToList();
        }
        var x = LinearScale.Covering(xs, left, right, tickCount: 5);
        var y = LinearScale.Covering(ys, bottom, top, includeZero: !identityLine, tickCount: 5);

        var svg = new SvgWriter(Width, Height, title);
        Axes.Title(svg, title);
        Axes.Horizontal(svg, x, top, bottom, xTitle);
        Axes.Vertical(svg, y, left, right, yTitle);
        if (identityLine)
            svg.Line(x.Map(Math.Max(x.Min, y.Min)), y.Map(Math.Max(x.Min, y.Min)), x.Map(Math.Min(x.Max, y.Max)), y.Map(Math.Min(x.Max, y.Max)), Palette.Axis, 1, dashed: true);
        foreach (var p in finite)
            svg.Circle(x.Map(p.X), y.Map(p.Y), 2.6, p.Color, opacity: 0.75);
        if (finite.Count == 0)
            svg.Text((left + right) / 2, (top + bottom) / 2, "no values", "middle", 12, Palette.Muted);
        return svg.Finish();
    }
}
