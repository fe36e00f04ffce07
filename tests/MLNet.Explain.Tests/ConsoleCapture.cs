namespace MLNet.Explain.Tests;

/// <summary>
/// Captures what code writes to the console. Console.Out and Console.Error are process-wide and test classes run in
/// parallel, so every test that redirects them goes through this one gate; otherwise two tests swap each other's
/// writers and read empty or foreign output.
/// </summary>
internal static class ConsoleCapture
{
    private static readonly Lock Gate = new();

    public static (T Result, string Output, string Error) Run<T>(Func<T> action)
    {
        lock (Gate)
        {
            var (output, error) = (new StringWriter(), new StringWriter());
            var (previousOut, previousError) = (Console.Out, Console.Error);
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                return (action(), output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(previousOut);
                Console.SetError(previousError);
            }
        }
    }
}
