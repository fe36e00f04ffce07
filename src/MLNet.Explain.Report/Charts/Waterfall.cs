namespace MLNet.Explain.Report.Charts;

/// <summary>
/// SHAP waterfall for one row: starting from the base value at the bottom, each feature's contribution moves the
/// output right (red, raises it) or left (blue, lowers it) until it reaches the row's output at the top. The largest
/// contributions are on top; the rest are folded into one "other features" step.
/// </summary>
internal static class Waterfall
{
    private const double Width = 760;
    private const double RowHeight = 24;
    private const int MaxLabelChars = 40;

    public static string Render(string title, double baseValue, double output, IReadOnlyList<Contribution> contributions,
        string outputName, int maxShown = 10)
    {
        var steps = Steps(contributions, maxShown);
        var labels = steps.Select(s => s.Label).ToList();
        double labelWidth = Axes.LabelWidth(labels, MaxLabelChars);
        double top = 52, bottom = top + Math.Max(1, steps.Count) * RowHeight, height = bottom + 64;
        double left = labelWidth, right = Width - 24;

        // Cumulative positions from the base value (bottom row) up to the output (top row).
        var ends = new double[steps.Count];
        double running = baseValue;
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            running += steps[i].Value;
            ends[i] = running;
        }
        var scale = LinearScale.Covering(ends.Append(baseValue).Append(output), left, right);

        var svg = new SvgWriter(Width, height, title);
        Axes.Title(svg, title);
        Axes.Horizontal(svg, scale, top, bottom, outputName);
        double outputX = scale.Map(output), baseX = scale.Map(baseValue);
        svg.Line(outputX, top - 10, outputX, bottom, Palette.Muted, 1, dashed: true);
        svg.Text(outputX, top - 14, $"f(x) = {Markup.Number(output)}", "middle", 12, Palette.Ink, bold: true);
        svg.Line(baseX, top, baseX, bottom + 4, Palette.Muted, 1, dashed: true);
        svg.Text(baseX, bottom + 50, $"E[f(X)] = {Markup.Number(baseValue)}", "middle", 12, Palette.Ink);

        for (int i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            double center = top + (i + 0.5) * RowHeight;
            double start = scale.Map(ends[i] - step.Value), end = scale.Map(ends[i]);
            svg.Text(left - 8, center + 4, step.Label, "end", 12, Palette.Ink, maxChars: MaxLabelChars);
            string color = Palette.BySign(step.Value);
            svg.Polygon(Arrow(start, end, center, RowHeight * 0.36), color, $"{step.Label}: {SignedNumber(step.Value)}");
            bool valueInside = Math.Abs(end - start) > 56;
            double textX = valueInside ? (start + end) / 2 : Math.Max(start, end) + 6;
            svg.Text(textX, center + 4, SignedNumber(step.Value), valueInside ? "middle" : "start", 11, valueInside ? "#ffffff" : color);
        }
        return svg.Finish();
    }

    internal sealed record Step(string Label, double Value);

    /// <summary>The <paramref name="maxShown"/> largest contributions by magnitude, then one step for all others.</summary>
    internal static IReadOnlyList<Step> Steps(IReadOnlyList<Contribution> contributions, int maxShown)
    {
        var ordered = contributions.Where(c => double.IsFinite(c.Value)).OrderByDescending(c => Math.Abs(c.Value)).ToList();
        var steps = ordered.Take(maxShown).Select(c => new Step($"{c.Name} = {Markup.Number(c.FeatureValue)}", c.Value)).ToList();
        var rest = ordered.Skip(maxShown).ToList();
        if (rest.Count > 0)
            steps.Add(new Step($"{rest.Count} other features", rest.Sum(c => c.Value)));
        return steps;
    }

    private static string SignedNumber(double value) => value >= 0 ? "+" + Markup.Number(value) : Markup.Number(value);

    /// <summary>A bar from <paramref name="x1"/> to <paramref name="x2"/> with a pointed end showing the direction.</summary>
    private static IEnumerable<(double, double)> Arrow(double x1, double x2, double center, double halfHeight)
    {
        double direction = x2 >= x1 ? 1 : -1;
        double tip = Math.Min(6, Math.Abs(x2 - x1));
        double shaft = x2 - direction * tip;
        return [(x1, center - halfHeight), (shaft, center - halfHeight), (x2, center), (shaft, center + halfHeight), (x1, center + halfHeight)];
    }
}
