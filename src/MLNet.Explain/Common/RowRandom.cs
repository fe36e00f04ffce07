using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.Explain;

/// <summary>
/// A random generator seeded from a seed and the content of one row, so a row's random perturbations (and therefore
/// its explanation) depend only on the seed and the row's values: not on the row's position, its block, the batch it
/// is scored in or the thread that explains it. Explaining the same row twice gives identical results.
/// </summary>
/// <remarks>
/// The generator is xoshiro256** seeded through SplitMix64 from a 64-bit FNV-1a hash of the seed and the row's
/// canonical bytes (float bits with -0 and every NaN folded to one value; text as UTF-16). Both algorithms are
/// spelled out here, so the sequences do not change with the .NET version. Not thread-safe: one instance per row.
/// </remarks>
public sealed class RowRandom
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    private ulong _s0, _s1, _s2, _s3;

    private RowRandom(ulong hash)
    {
        ulong state = hash;
        _s0 = SplitMix(ref state);
        _s1 = SplitMix(ref state);
        _s2 = SplitMix(ref state);
        _s3 = SplitMix(ref state);
    }

    /// <summary>A generator for the row whose feature vector is <paramref name="features"/>.</summary>
    public static RowRandom For(int seed, ReadOnlySpan<float> features)
    {
        ulong hash = Seeded(seed);
        foreach (var value in features)
            hash = AddFloat(hash, value);
        return new RowRandom(hash);
    }

    /// <summary>
    /// A generator for the row whose column values are <paramref name="values"/>, plain values as
    /// <see cref="RowValues"/> reads them (numbers, bool, text, and arrays of those).
    /// </summary>
    public static RowRandom For(int seed, IEnumerable<object> values)
    {
        ulong hash = Seeded(seed);
        foreach (var value in values)
            hash = AddValue(hash, value);
        return new RowRandom(hash);
    }

    /// <summary>
    /// The seed an explanation stage uses when its options give none: one draw from the <see cref="MLContext"/>'s
    /// random source (repeatable for a context created with a seed, as for ML.NET's trainers).
    /// </summary>
    public static int SeedOf(MLContext context, int? optionsSeed)
        => optionsSeed ?? ((IHostEnvironment)context).Register(nameof(RowRandom)).Rand.Next();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in the open interval (0, 1): safe to feed to an inverse CDF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextOpenDouble() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        ulong bound = (ulong)maxExclusive;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong high = Math.BigMul(NextUInt64(), bound, out ulong low);
            if (low >= threshold) return (int)high;
        }
    }

    /// <summary>A standard normal draw (inverse CDF of one uniform, so one draw consumes one number).</summary>
    public double NextGaussian() => Normal.Quantile(NextOpenDouble());

    /// <summary>An index drawn with probabilities proportional to the cumulative table <paramref name="cumulative"/> (last entry = total).</summary>
    public int NextIndex(ReadOnlySpan<double> cumulative) => NextIndex(cumulative, out _);

    /// <summary>
    /// <see cref="NextIndex(ReadOnlySpan{double})"/> that also returns where the draw fell inside the chosen entry,
    /// uniform in [0, 1) and independent of the index: a second draw for free (e.g. a position inside a chosen bin).
    /// </summary>
    public int NextIndex(ReadOnlySpan<double> cumulative, out double within)
    {
        double target = NextDouble() * cumulative[^1];
        int index = 0;
        while (index < cumulative.Length - 1 && cumulative[index] <= target)
            index++;
        double lower = index == 0 ? 0 : cumulative[index - 1];
        within = Math.Clamp((target - lower) / (cumulative[index] - lower), 0, 1);
        return index;
    }

    /// <summary>Fills <paramref name="destination"/> with distinct indices drawn uniformly from [0, <paramref name="count"/>).</summary>
    public void SampleWithoutReplacement(int count, Span<int> destination, Span<int> scratch)
    {
        if (destination.Length > count) throw new ArgumentException($"Cannot draw {destination.Length} distinct indices from {count}.", nameof(destination));
        var pool = scratch[..count];
        for (int i = 0; i < count; i++) pool[i] = i;
        for (int i = 0; i < destination.Length; i++)
        {
            int j = i + NextInt(count - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
            destination[i] = pool[i];
        }
    }

    private static ulong Seeded(int seed) => AddBytes(FnvOffset, BitConverter.GetBytes(seed));

    private static ulong AddValue(ulong hash, object value) => value switch
    {
        float f => AddFloat(hash, f),
        double d => AddDouble(hash, d),
        string s => AddBytes(AddInt64(hash, s.Length), MemoryMarshal.AsBytes(s.AsSpan())),
        bool b => AddInt64(hash, b ? 1 : 0),
        int i => AddInt64(hash, i),
        long l => AddInt64(hash, l),
        uint u => AddInt64(hash, u),
        Array array => AddArray(hash, array),
        _ => throw new ArgumentException($"A value of type {value.GetType().Name} cannot seed a row's random generator.", nameof(value)),
    };

    private static ulong AddArray(ulong hash, Array array)
    {
        hash = AddInt64(hash, array.Length);
        foreach (var item in array)
            hash = AddValue(hash, item!);
        return hash;
    }

    private static ulong AddFloat(ulong hash, float value)
        => AddInt64(hash, float.IsNaN(value) ? int.MinValue + 1 : value == 0 ? 0 : BitConverter.SingleToInt32Bits(value));

    private static ulong AddDouble(ulong hash, double value)
        => AddInt64(hash, double.IsNaN(value) ? long.MinValue + 1 : value == 0 ? 0 : BitConverter.DoubleToInt64Bits(value));

    private static ulong AddInt64(ulong hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return AddBytes(hash, bytes);
    }

    private static ulong AddBytes(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
            hash = (hash ^ b) * FnvPrime;
        return hash;
    }

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
