using System.Runtime.ExceptionServices;

namespace MLNet.Explain;

/// <summary>Splits a block of rows into batches of consecutive rows and runs them in parallel on every core.</summary>
internal static class ParallelBatches
{
    /// <summary>
    /// Calls <paramref name="run"/>(first, end) for batches of <paramref name="rowsPerBatch"/> rows covering
    /// [0, <paramref name="rows"/>). An exception from a batch is rethrown as itself (not wrapped), so callers see
    /// the message that names the bad column or value.
    /// </summary>
    public static void Run(int rows, int rowsPerBatch, Action<int, int> run)
    {
        rowsPerBatch = Math.Max(1, rowsPerBatch);
        int batches = (rows + rowsPerBatch - 1) / rowsPerBatch;
        try
        {
            Parallel.For(0, batches, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, batch =>
            {
                int first = batch * rowsPerBatch;
                run(first, Math.Min(rows, first + rowsPerBatch));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
    }
}
