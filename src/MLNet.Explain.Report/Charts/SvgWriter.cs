using System.Globalization;
using System.Text;

namespace MLNet.Explain.Report.Charts;

/// <summary>
/// Writes one SVG image. Every piece of text goes through <see cref="Markup.Escape"/>; numbers are written in the
/// invariant culture. The result is a standalone SVG document that can also be inlined in HTML.
/// </summary>
internal sealed class SvgWriter
{
    private readonly StringBuilder _svg = new();

    public SvgWriter(double width, double height, string title)
    {
        Width = width;
        Height = height;
        _svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{F(height)}\" viewBox=\"0 0 {F(width)} {F(height)}\" role=\"img\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"12\">");
        _svg.Append("<title>").Append(Markup.Escape(title)).Append("</title>");
        Rect(0, 0, width, height, "#ffffff");
    }

    public double Width { get; }
    public double Height { get; }

    public void Rect(double x, double y, double width, double height, string fill, string? tooltip = null, string? stroke = null)
    {
        _svg.Append(CultureInfo.InvariantCulture,
            $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(Math.Max(0, width))}\" height=\"{F(Math.Max(0, height))}\" fill=\"{fill}\"");
        if (stroke is not null) _svg.Append(CultureInfo.InvariantCulture, $" stroke=\"{stroke}\"");
        CloseWithTooltip("rect", tooltip);
    }

    public void Line(double x1, double y1, double x2, double y2, string stroke, double strokeWidth = 1, bool dashed = false)
    {
        _svg.Append(CultureInfo.InvariantCulture,
            $"<line x1=\"{F(x1)}\" y1=\"{F(y1)}\" x2=\"{F(x2)}\" y2=\"{F(y2)}\" stroke=\"{stroke}\" stroke-width=\"{F(strokeWidth)}\"");
        if (dashed) _svg.Append(" stroke-dasharray=\"4 3\"");
        _svg.Append("/>");
    }

    public void Circle(double cx, double cy, double r, string fill, string? tooltip = null, double opacity = 1)
    {
        _svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"{F(r)}\" fill=\"{fill}\"");
        if (opacity < 1) _svg.Append(CultureInfo.InvariantCulture, $" fill-opacity=\"{F(opacity)}\"");
        CloseWithTooltip("circle", tooltip);
    }

    /// <summary>A closed polygon through <paramref name="points"/>.</summary>
    public void Polygon(IEnumerable<(double X, double Y)> points, string fill, string? tooltip = null)
    {
        _svg.Append("<polygon points=\"");
        _svg.AppendJoin(' ', points.Select(p => $"{F(p.X)},{F(p.Y)}"));
        _svg.Append(CultureInfo.InvariantCulture, $"\" fill=\"{fill}\"");
        CloseWithTooltip("polygon", tooltip);
    }

    /// <summary>Text; <paramref name="anchor"/> is start, middle or end. Long text is cut to <paramref name="maxChars"/> with the full text as tooltip.</summary>
    public void Text(double x, double y, string text, string anchor = "start", double size = 12, string fill = "#222222",
        bool bold = false, double rotate = 0, int maxChars = int.MaxValue)
    {
        var shown = Markup.Truncate(text, maxChars);
        _svg.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{F(x)}\" y=\"{F(y)}\" text-anchor=\"{anchor}\" font-size=\"{F(size)}\" fill=\"{fill}\"");
        if (bold) _svg.Append(" font-weight=\"600\"");
        if (rotate != 0) _svg.Append(CultureInfo.InvariantCulture, $" transform=\"rotate({F(rotate)} {F(x)} {F(y)})\"");
        _svg.Append('>');
        if (shown.Length < text.Length) _svg.Append("<title>").Append(Markup.Escape(text)).Append("</title>");
        _svg.Append(Markup.Escape(shown)).Append("</text>");
    }

    public string Finish() => _svg.Append("</svg>").ToString();

    private void CloseWithTooltip(string element, string? tooltip)
    {
        if (tooltip is null)
        {
            _svg.Append("/>");
            return;
        }
        _svg.Append("><title>").Append(Markup.Escape(tooltip)).Append("</title></").Append(element).Append('>');
    }

    /// <summary>Coordinates with two decimals at most: enough for the screen, short in the file.</summary>
    public static string F(double value)
        => double.IsFinite(value) ? Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";
}
