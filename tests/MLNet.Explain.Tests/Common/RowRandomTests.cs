namespace MLNet.Explain.Tests.Common;

[TestClass]
public sealed class RowRandomTests
{
    [TestMethod]
    public void SameSeedAndContentGiveTheSameSequence()
    {
        float[] row = [1.5f, -2f, 0f, float.NaN];
        var a = RowRandom.For(42, row);
        var b = RowRandom.For(42, row.ToArray());
        for (int i = 0; i < 100; i++)
            Assert.AreEqual(a.NextUInt64(), b.NextUInt64());
    }

    [TestMethod]
    public void SequenceDependsOnSeedAndOnEveryValue()
    {
        float[] row = [1.5f, -2f, 3f];
        ulong reference = RowRandom.For(42, row).NextUInt64();
        Assert.AreNotEqual(reference, RowRandom.For(43, row).NextUInt64());
        Assert.AreNotEqual(reference, RowRandom.For(42, [1.5f, -2f, 3.0001f]).NextUInt64());
        Assert.AreNotEqual(reference, RowRandom.For(42, [-2f, 1.5f, 3f]).NextUInt64());
        Assert.AreNotEqual(RowRandom.For(1, ["ab", "c"]).NextUInt64(), RowRandom.For(1, ["a", "bc"]).NextUInt64());
    }

    [TestMethod]
    public void EqualValuesWithDifferentBitsGiveTheSameSequence()
    {
        Assert.AreEqual(RowRandom.For(7, [0f, 1f]).NextUInt64(), RowRandom.For(7, [-0f, 1f]).NextUInt64());
        float otherNaN = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001));
        Assert.AreEqual(RowRandom.For(7, [float.NaN]).NextUInt64(), RowRandom.For(7, [otherNaN]).NextUInt64());
        Assert.AreEqual(RowRandom.For(7, [new[] { 1f, 2f }, "x"]).NextUInt64(), RowRandom.For(7, [new[] { 1f, 2f }, "x"]).NextUInt64());
    }

    [TestMethod]
    public void DrawsHaveTheRightDistributions()
    {
        var random = RowRandom.For(3, [1f]);
        const int draws = 200_000;
        var counts = new int[7];
        double sum = 0, squares = 0, uniformSum = 0;
        for (int i = 0; i < draws; i++)
        {
            counts[random.NextInt(7)]++;
            double g = random.NextGaussian();
            sum += g;
            squares += g * g;
            double u = random.NextDouble();
            Assert.IsTrue(u is >= 0 and < 1);
            uniformSum += u;
        }
        foreach (var count in counts)
            Assert.AreEqual(draws / 7.0, count, 5 * Math.Sqrt(draws / 7.0), "NextInt is uniform");
        Assert.AreEqual(0, sum / draws, 0.01, "Gaussian mean");
        Assert.AreEqual(1, squares / draws, 0.015, "Gaussian variance");
        Assert.AreEqual(0.5, uniformSum / draws, 0.003, "uniform mean");
    }

    [TestMethod]
    public void SamplingWithoutReplacementGivesDistinctIndices()
    {
        var random = RowRandom.For(5, [2f]);
        var picked = new int[6];
        var scratch = new int[10];
        for (int trial = 0; trial < 50; trial++)
        {
            random.SampleWithoutReplacement(10, picked, scratch);
            Assert.AreEqual(6, picked.Distinct().Count());
            Assert.IsTrue(picked.All(i => i is >= 0 and < 10));
        }
    }

    [TestMethod]
    public void IndexDrawsFollowTheCumulativeTable()
    {
        var random = RowRandom.For(9, [0f]);
        double[] cumulative = [0.1, 0.1, 0.7, 1.0];
        var counts = new int[4];
        for (int i = 0; i < 100_000; i++)
            counts[random.NextIndex(cumulative)]++;
        Assert.AreEqual(0, counts[1], "zero-probability entries are never drawn");
        Assert.AreEqual(10_000, counts[0], 500);
        Assert.AreEqual(60_000, counts[2], 800);
        Assert.AreEqual(30_000, counts[3], 700);

        // The position inside the drawn entry is uniform whatever the entry.
        var sums = new double[4];
        Array.Clear(counts);
        for (int i = 0; i < 100_000; i++)
        {
            int index = random.NextIndex(cumulative, out double within);
            Assert.IsTrue(within is >= 0 and <= 1);
            counts[index]++;
            sums[index] += within;
        }
        foreach (int index in new[] { 0, 2, 3 })
            Assert.AreEqual(0.5, sums[index] / counts[index], 0.01, $"mean position inside entry {index}");
    }
}
