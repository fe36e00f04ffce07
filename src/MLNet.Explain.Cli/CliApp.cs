using System.CommandLine;

namespace MLNet.Explain.Cli;

/// <summary>The <c>mlnet-explain</c> command line; tests call <see cref="Run"/> in-process.</summary>
public static class CliApp
{
    /// <summary>One entry per subcommand; each lives in its own file under Commands/.</summary>
    private static IEnumerable<Command> Commands() =>
    [
        MLNet.Explain.Cli.Commands.GradientsCommand.Create(),
        MLNet.Explain.Cli.Commands.SaliencyCommand.Create(),
    ];

    public static int Run(string[] args)
    {
        var root = new RootCommand("mlnet-explain: explain ML.NET and ONNX models from the command line.");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root.Parse(args).Invoke();
    }
}
