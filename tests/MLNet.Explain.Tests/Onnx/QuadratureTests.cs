using MLNet.Explain.Onnx.Saliency;

namespace MLNet.Explain.Tests.Onnx;

[TestClass]
public sealed class QuadratureTests
{
    [TestMethod]
    public void GaussLegendreMatchesNumpyLeggaussAndIsExactForHighDegreePolynomials()
    {
        // numpy.polynomial.legendre.leggauss(3) mapped to [0, 1]: nodes (x+1)/2, weights w/2.
        var (alphas, weights) = Quadrature.On01(IntegrationRule.GaussLegendre, 3);
        double r = Math.Sqrt(3.0 / 5.0);
        CollectionAssert.AreEqual(new[] { (1 - r) / 2, 0.5, (1 + r) / 2 }, alphas, new Tolerance(1e-14));
        CollectionAssert.AreEqual(new[] { 5.0 / 18, 8.0 / 18, 5.0 / 18 }, weights, new Tolerance(1e-14));

        var (a50, w50) = Quadrature.On01(IntegrationRule.GaussLegendre, 50);
        Assert.AreEqual(1.0, w50.Sum(), 1e-13);
        // ∫₀¹ α⁹⁹ dα = 1/100 exactly for 50 nodes (degree ≤ 99).
        Assert.AreEqual(0.01, a50.Zip(w50, (a, w) => w * Math.Pow(a, 99)).Sum(), 1e-13);
        Assert.IsTrue(a50.SequenceEqual(a50.Order()), "nodes ascend");
    }

    [TestMethod]
    public void RiemannRulesPlaceTheirStepsAsNamed()
    {
        CollectionAssert.AreEqual(new[] { 0.0, 0.25, 0.5, 0.75 }, Quadrature.On01(IntegrationRule.RiemannLeft, 4).Alphas);
        CollectionAssert.AreEqual(new[] { 0.25, 0.5, 0.75, 1.0 }, Quadrature.On01(IntegrationRule.RiemannRight, 4).Alphas);
        CollectionAssert.AreEqual(new[] { 0.125, 0.375, 0.625, 0.875 }, Quadrature.On01(IntegrationRule.RiemannMiddle, 4).Alphas);
        var (alphas, weights) = Quadrature.On01(IntegrationRule.RiemannTrapezoid, 5);
        CollectionAssert.AreEqual(new[] { 0.0, 0.25, 0.5, 0.75, 1.0 }, alphas);
        CollectionAssert.AreEqual(new[] { 0.125, 0.25, 0.25, 0.25, 0.125 }, weights);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Quadrature.On01(IntegrationRule.GaussLegendre, 0));
    }

    private sealed class Tolerance(double epsilon) : System.Collections.IComparer
    {
        public int Compare(object? x, object? y) => Math.Abs((double)x! - (double)y!) <= epsilon ? 0 : 1;
    }
}
