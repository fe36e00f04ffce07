using System.Globalization;
using System.Text;

namespace MLNet.Explain.Report;

/// <summary>
/// Escaping of untrusted strings (feature names, categories, text from the data or the model) for HTML and SVG.
/// One function serves both: its output is valid in HTML text and attribute values and in standalone XML (SVG files),
/// because it uses only numeric or XML-predefined entities and replaces characters XML forbids.
/// </summary>
public static class Markup
{
    /// <summary>Escapes <paramref name="text"/> for use as HTML/XML text or as a quoted attribute value.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return string.Empty;
        var builder = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': builder.Append("&amp;"); break;
                case '<': builder.Append("&lt;"); break;
                case '>': builder.Append("&gt;"); break;
                case '"': builder.Append("&quot;"); break;
                case '\'': builder.Append("&#39;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        builder.Append(c).Append(text[++i]);
                    }
                    else if (IsAllowedInXml(c))
                    {
                        builder.Append(c);
                    }
                    else
                    {
                        builder.Append('\uFFFD');
                    }
                    break;
            }
        }
        return builder.ToString();
    }

    /// <summary>Shortens <paramref name="text"/> to at most <paramref name="maxLength"/> characters, ending in an ellipsis.</summary>
    public static string Truncate(string text, int maxLength)
        => text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, Math.Max(1, maxLength - 1)), "…");

    /// <summary>A number for display: up to 4 significant digits, invariant culture; non-finite values as words.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "∞";
        if (double.IsNegativeInfinity(value)) return "−∞";
        if (value == 0) return "0";
        double magnitude = Math.Abs(value);
        var text = magnitude is >= 1e-3 and < 1e6
            ? Math.Round(value, Math.Max(0, 3 - (int)Math.Floor(Math.Log10(magnitude)))).ToString("0.####", CultureInfo.InvariantCulture)
            : value.ToString("0.###e+0", CultureInfo.InvariantCulture);
        return text.Replace('-', '−');
    }

    private static bool IsAllowedInXml(char c)
        => c is '\t' or '\n' or '\r' || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD);
}
