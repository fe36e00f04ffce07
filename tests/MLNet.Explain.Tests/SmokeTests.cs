namespace MLNet.Explain.Tests;

[TestClass]
public sealed class SmokeTests
{
    [TestMethod]
    public void BreastCancerDataIsBundled()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv"));
        Assert.AreEqual(570, lines.Length);
    }
}
