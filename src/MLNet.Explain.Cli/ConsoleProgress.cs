using System.Diagnostics;
using System.Globalization;

namespace MLNet.Explain.Cli;

/// <summary>
/// A progress bar for long commands, on the error stream so the output stays clean. On a terminal it redraws one line
/// (<c>[#########-----------]  45%  Computing SHAP values</c>); when the stream is redirected it prints a line per stage.
/// </summary>
public sealed class ConsoleProgress : IDisposable
{
    private const int BarWidth = 30;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private string? _stage;
    private int _lastLength;

    public ConsoleProgress(TextWriter writer, bool interactive)
    {
        _writer = writer;
        _interactive = interactive;
    }

    /// <summary>A progress bar on the console's error stream, redrawn in place when that stream is a terminal.</summary>
    public static ConsoleProgress ForConsole() => new(Console.Error, !Console.IsErrorRedirected);

    /// <summary>Shows <paramref name="fraction"/> (0..1) of the whole work done, currently in <paramref name="stage"/>.</summary>
    public void Report(string stage, double fraction)
    {
        lock (_lock)
        {
            bool newStage = stage != _stage;
            _stage = stage;
            if (!_interactive)
            {
                if (newStage) _writer.WriteLine($"{Percent(fraction)} {stage}");
                return;
            }
            if (!newStage && fraction < 1 && _sinceDraw.Elapsed < Interval) return;
            _sinceDraw.Restart();
            int filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * BarWidth);
            var line = $"[{new string('#', filled)}{new string('-', BarWidth - filled)}] {Percent(fraction)}  {stage}";
            _writer.Write('\r' + line.PadRight(_lastLength));
            _lastLength = line.Length;
        }
    }

    /// <summary>Ends the bar's line so later output starts on a fresh one.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_interactive && _lastLength > 0) _writer.WriteLine();
            _lastLength = 0;
        }
    }

    private static string Percent(double fraction)
        => (Math.Clamp(fraction, 0, 1) * 100).ToString("0", CultureInfo.InvariantCulture).PadLeft(3) + "%";
}
