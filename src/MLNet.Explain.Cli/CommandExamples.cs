using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace MLNet.Explain.Cli;

/// <summary>
/// Usage examples shown by <c>--help</c>: each command registers its own (<see cref="WithExamples"/>); the root help
/// lists the first example of every command.
/// </summary>
public static class CommandExamples
{
    private static readonly ConditionalWeakTable<Command, IReadOnlyList<string>> Examples = new();

    /// <summary>Attaches example command lines to <paramref name="command"/>.</summary>
    public static TCommand WithExamples<TCommand>(this TCommand command, params string[] examples) where TCommand : Command
    {
        Examples.AddOrUpdate(command, examples);
        return command;
    }

    /// <summary>The examples of <paramref name="command"/> (empty when it has none).</summary>
    public static IReadOnlyList<string> Of(Command command) => Examples.TryGetValue(command, out var examples) ? examples : [];

    /// <summary>Makes <c>--help</c> on <paramref name="root"/> and its subcommands end with their examples.</summary>
    internal static void ShowInHelp(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithExamples((HelpAction)help.Action!);
    }

    private sealed class HelpWithExamples(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int result = standard.Invoke(parseResult);
            var command = parseResult.CommandResult.Command;
            var examples = command is RootCommand
                ? command.Subcommands.SelectMany(c => Of(c).Take(1)).ToList()
                : Of(command);
            if (examples.Count == 0) return result;
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            foreach (var example in examples)
                output.WriteLine($"  {example}");
            output.WriteLine();
            return result;
        }
    }
}
