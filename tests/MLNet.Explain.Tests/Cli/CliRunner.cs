using System.CommandLine;
using MLNet.Explain.Cli;

namespace MLNet.Explain.Tests.Cli;

/// <summary>Runs <c>mlnet-explain</c> in process with its output captured (no process-wide console redirection, so tests can run in parallel).</summary>
internal static class CliRunner
{
    /// <summary>The exit code and everything the command wrote (output and errors, interleaved); exceptions propagate.</summary>
    public static (int Exit, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        int exit = CliApp.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output, EnableDefaultExceptionHandler = false });
        return (exit, output.ToString());
    }
}
