using Microsoft.ML;

namespace MLNet.Explain;

/// <summary>
/// Reads the rows of a cursor, all of them or a uniform random sample of at most <c>maxRows</c> (reservoir sampling,
/// so memory stays bounded however large the data is). Kept rows come back in their original order.
/// </summary>
internal static class RowSample
{
    public static List<T> Read<T>(DataViewRowCursor cursor, Func<T> read, int? maxRows, int seed, CancellationToken cancellation)
    {
        if (maxRows is null)
        {
            var all = new List<T>();
            while (cursor.MoveNext())
            {
                if ((all.Count & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                all.Add(read());
            }
            return all;
        }

        int capacity = maxRows.Value;
        var random = new Random(seed);
        var kept = new List<(long Row, T Value)>();
        long seen = 0;
        while (cursor.MoveNext())
        {
            if ((seen & 1023) == 0) cancellation.ThrowIfCancellationRequested();
            if (kept.Count < capacity)
                kept.Add((seen, read()));
            else if (random.NextInt64(seen + 1) is var slot && slot < capacity)
                kept[(int)slot] = (seen, read());
            seen++;
        }
        return kept.OrderBy(k => k.Row).Select(k => k.Value).ToList();
    }
}
