using System.CommandLine;
using MLNet.Explain.Cli;

namespace MLNet.Explain.Tests.Cli;

/// <summary>Every command's <c>--help</c> ends with examples of its use.</summary>
[TestClass]
public sealed class CliHelpTests
{
    private static string Help(params string[] args)
    {
        var output = new StringWriter();
        CliApp.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return output.ToString();
    }

    [TestMethod]
    public void EveryCommandHasAnExampleOfItself()
    {
        var commands = CliApp.Build().Subcommands;
        Assert.IsTrue(commands.Count > 0);
        foreach (var command in commands)
        {
            var examples = CommandExamples.Of(command);
            Assert.IsTrue(examples.Count > 0, $"command '{command.Name}' has no example for --help (add them with .WithExamples(...))");
            foreach (var example in examples)
                StringAssert.StartsWith(example, $"mlnet-explain {command.Name} ", $"example of '{command.Name}'");
            var help = Help(command.Name, "--help");
            StringAssert.Contains(help, "Examples:", command.Name);
            foreach (var example in examples)
                StringAssert.Contains(help, example, command.Name);
        }
    }

    [TestMethod]
    public void RootHelpListsAnExamplePerCommand()
    {
        var help = Help("--help");
        StringAssert.Contains(help, "Examples:");
        foreach (var command in CliApp.Build().Subcommands)
            StringAssert.Contains(help, CommandExamples.Of(command)[0]);
    }

    [TestMethod]
    public void ReportHelpNamesEveryContractOption()
    {
        var help = Help("report", "--help");
        foreach (var option in new[] { "--model", "--data", "--label", "--background", "--rows", "--out" })
            StringAssert.Contains(help, option);
    }
}
