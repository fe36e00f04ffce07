using System.CommandLine;
using MLNet.Explain.Cli.Commands;

namespace MLNet.Explain.Cli;

/// <summary>The <c>mlnet-explain</c> command line; tests call <see cref="Run"/> in-process.</summary>
public static class CliApp
{
    /// <summary>One entry per subcommand; each lives in its own file under Commands/.</summary>
    private static IEnumerable<Command> Commands() =>
    [
        GradientsCommand.Create(),
        ImportanceCommand.Create(),
        ReportCommand.Create(),
        LimeCommand.Create(),
        SaliencyCommand.Create(),
        ShapCommand.Create(),
    ];

    /// <summary>Runs the command line; bad input (a missing file or column, a malformed option) is reported in one line, exit code 1.</summary>
    public static int Run(string[] args)
    {
        try
        {
            return Build().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException or InvalidOperationException or NotSupportedException)
        {
            Console.Error.WriteLine($"mlnet-explain: error: {e.Message}");
            return 1;
        }
    }

    /// <summary>The root command with every subcommand (tests invoke it with their own output writers).</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("mlnet-explain: explain ML.NET and ONNX models from the command line.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        CommandExamples.ShowInHelp(root);
        return root;
    }
}
