namespace MLNet.Explain.Tests.Common;

[TestClass]
public sealed class NormalTests
{
    [TestMethod]
    public void CdfMatchesScipy()
    {
        // scipy.stats.norm.cdf (see Common/reference/ridge_reference.py)
        (double x, double expected)[] cases =
        [
            (-10, 7.61985302416047e-24), (-5, 2.866515718791933e-07), (-3.5, 0.00023262907903552502), (-1, 0.15865525393145707),
            (0, 0.5), (0.3, 0.6179114221889526), (2.9, 0.998134186699616), (3.1, 0.9990323967867817), (6, 0.9999999990134123),
        ];
        foreach (var (x, expected) in cases)
            Assert.AreEqual(expected, Normal.Cdf(x), Math.Max(1e-15, 1e-12 * expected), $"Φ({x})");
    }

    [TestMethod]
    public void QuantileMatchesScipyAndInvertsTheCdf()
    {
        (double p, double expected)[] cases =
        [
            (1e-12, -7.034483825301131), (0.001, -3.090232306167813), (0.02, -2.053748910631823), (0.3, -0.5244005127080409),
            (0.5, 0), (0.9, 1.2815515655446004), (0.99999, 4.264890793923841),
        ];
        foreach (var (p, expected) in cases)
            Assert.AreEqual(expected, Normal.Quantile(p), 1e-8 * Math.Max(1, Math.Abs(expected)), $"Φ⁻¹({p})");
        Assert.AreEqual(double.NegativeInfinity, Normal.Quantile(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Normal.Quantile(1.5));
    }

    [TestMethod]
    public void TruncatedDrawsStayInsideAndHaveTheTruncatedMean()
    {
        // Mean of N(μ, σ²) truncated to [a, b]: μ + σ (φ(α) − φ(β)) / (Φ(β) − Φ(α)).
        (double mean, double std, double min, double max)[] cases = [(0, 1, -0.5, 3), (10, 2, 11, 30), (5, 0.1, 4, 5.05), (-3, 4, -100, -2.5)];
        foreach (var (mean, std, min, max) in cases)
        {
            double alpha = (min - mean) / std, beta = (max - mean) / std;
            double expected = mean + std * (Normal.Density(alpha) - Normal.Density(beta)) / (Normal.Cdf(beta) - Normal.Cdf(alpha));
            var interval = Normal.TruncatedRange(mean, std, min, max);
            var random = RowRandom.For(1, [(float)mean]);
            double sum = 0;
            const int draws = 50_000;
            for (int i = 0; i < draws; i++)
            {
                double x = Normal.TruncatedDraw(interval, random.NextOpenDouble());
                Assert.IsTrue(x >= min && x <= max, $"{x} outside [{min}, {max}]");
                sum += x;
            }
            Assert.AreEqual(expected, sum / draws, 0.02 * std, $"mean of N({mean}, {std}²) on [{min}, {max}]");
        }
        Assert.AreEqual(2.0, Normal.Truncated(5, 0, 1, 2, 0.3), "no spread: the mean clamped into the interval");
    }
}
