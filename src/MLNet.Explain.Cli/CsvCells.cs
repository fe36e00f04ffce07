using System.Globalization;

namespace MLNet.Explain.Cli;

/// <summary>How the commands write CSV cells: numbers that read back exactly, text quoted only when it must be.</summary>
public static class CsvCells
{
    /// <summary>A float in invariant culture that parses back to the same value.</summary>
    public static string Number(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The cell as is, or in double quotes (inner quotes doubled) when it holds a comma, quote or line break.</summary>
    public static string Quote(string cell)
        => cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{cell.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : cell;
}
