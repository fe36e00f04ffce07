namespace MLNet.Explain.Report.Charts;

/// <summary>The report's colours: one place, so charts and HTML agree (and stay readable in greyscale print).</summary>
internal static class Palette
{
    public const string Positive = "#d62755";
    public const string Negative = "#1f78c8";
    public const string Neutral = "#4c78a8";
    public const string Warning = "#e08a00";
    public const string Ink = "#222222";
    public const string Muted = "#666666";
    public const string Grid = "#e6e6e6";
    public const string Axis = "#999999";
    public const string Missing = "#bbbbbb";

    public static string BySign(double value) => value >= 0 ? Positive : Negative;

    /// <summary>Blue (low) through purple to red (high) for <paramref name="t"/> in [0, 1]; grey when unknown.</summary>
    public static string Gradient(double t)
    {
        if (!double.IsFinite(t)) return Missing;
        t = Math.Clamp(t, 0, 1);
        (int R, int G, int B) low = (0x1f, 0x78, 0xc8), mid = (0x8a, 0x3f, 0xb0), high = (0xd6, 0x27, 0x55);
        var (from, to, u) = t < 0.5 ? (low, mid, t * 2) : (mid, high, (t - 0.5) * 2);
        int Mix(int a, int b) => (int)Math.Round(a + (b - a) * u);
        return $"#{Mix(from.R, to.R):x2}{Mix(from.G, to.G):x2}{Mix(from.B, to.B):x2}";
    }
}
