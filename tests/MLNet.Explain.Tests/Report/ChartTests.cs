using System.Globalization;
using System.Xml.Linq;
using MLNet.Explain.Report;
using MLNet.Explain.Report.Charts;

namespace MLNet.Explain.Tests.Report;

[TestClass]
public sealed class ChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static double Attribute(XElement element, string name) => double.Parse(element.Attribute(name)!.Value, CultureInfo.InvariantCulture);

    [TestMethod]
    public void ScalesUseNiceTicksThatCoverTheData()
    {
        var scale = LinearScale.Covering([0.03, 0.87], 0, 100);
        CollectionAssert.AreEqual(new[] { 0, 0.2, 0.4, 0.6, 0.8, 1.0 }, scale.Ticks().ToArray());
        Assert.AreEqual(0, scale.Map(0), 1e-9);
        Assert.AreEqual(50, scale.Map(0.5), 1e-9);

        var negative = LinearScale.Covering([-12.5, 3], 0, 100, includeZero: true);
        Assert.IsTrue(negative.Min <= -12.5 && negative.Max >= 3);
        Assert.IsTrue(negative.Ticks().Contains(0));

        var constant = LinearScale.Covering([5, 5, 5], 0, 100);
        Assert.IsTrue(constant.Min < 5 && constant.Max > 5, "a constant series still gets a visible range");
        Assert.AreEqual(1, LinearScale.Covering([], 0, 100).Max, "no data: the unit range");
        Assert.AreEqual(0.5, LinearScale.NiceStep(0.31), 1e-12);
        Assert.AreEqual(20, LinearScale.NiceStep(13), 1e-12);
    }

    [TestMethod]
    public void WaterfallStepsShowTheLargestContributionsAndSumTheRest()
    {
        var contributions = new[]
        {
            new Contribution("a", 1, 0.5), new Contribution("b", 2, -2), new Contribution("c", 3, 0.25), new Contribution("d", 4, 1),
        };
        var steps = Waterfall.Steps(contributions, maxShown: 2);
        CollectionAssert.AreEqual(new[] { "b = 2", "d = 4", "2 other features" }, steps.Select(s => s.Label).ToArray());
        Assert.AreEqual(0.75, steps[2].Value, 1e-12);
        Assert.AreEqual(contributions.Sum(c => c.Value), steps.Sum(s => s.Value), 1e-12, "folding keeps the total");
    }

    [TestMethod]
    public void WaterfallArrowsRunFromTheBaseValueToTheOutput()
    {
        var contributions = new[] { new Contribution("a", 1, 3), new Contribution("b", 2, -1) };
        var svg = XDocument.Parse(Waterfall.Render("t", baseValue: 1, output: 3, contributions, "Score"));
        var arrows = svg.Descendants(Svg + "polygon").Select(p => p.Attribute("points")!.Value.Split(' ')
            .Select(xy => double.Parse(xy.Split(',')[0], CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.AreEqual(2, arrows.Count);
        // Bottom arrow (b, −1) starts at the base value; the top arrow (a, +3) ends at the output: equal spacing in pixels.
        double start = arrows[1][0], afterB = arrows[1][2], end = arrows[0][2];
        Assert.IsTrue(afterB < start, "a negative contribution points left");
        Assert.IsTrue(end > afterB, "a positive contribution points right");
        Assert.AreEqual(3, (end - afterB) / (start - afterB), 1e-2, "arrow lengths are proportional to the contributions");
    }

    [TestMethod]
    public void BeeswarmPilesCrowdedDotsAboveAndBelowTheLine()
    {
        var offsets = Beeswarm.PileOffsets([100, 100, 100, 100, 300], maxOffset: 10);
        Assert.AreEqual(0, offsets[0]);
        Assert.AreEqual(-offsets[1], offsets[2], 1e-12, "alternating sides");
        Assert.IsTrue(Math.Abs(offsets[3]) > Math.Abs(offsets[1]), "further dots pile further out");
        Assert.AreEqual(0, offsets[4], "a lone dot stays on the line");
        Assert.IsTrue(Beeswarm.PileOffsets(Enumerable.Repeat(50.0, 100).ToArray(), 10).All(o => Math.Abs(o) <= 10), "piles stay in their band");
    }

    [TestMethod]
    public void EveryChartIsWellFormedSvgEvenWithHostileOrMissingValues()
    {
        const string name = "a<b>&\"c\"\u0001'";
        var charts = new[]
        {
            BarChart.Render(name, [new Bar(name, double.NaN, "#000"), new Bar("x", 2, "#000", 1, 3)], name, 0.5, name),
            BarChart.Render("empty", [], "axis"),
            Beeswarm.Render(name, [name], [[1, double.NaN, -1]], [[0, 1, double.NaN]], name),
            ScatterChart.Render(name, [new Point(double.NaN, 1, "#000"), new Point(1, double.PositiveInfinity, "#000")], name, name),
            Waterfall.Render(name, 0, double.NaN, [new Contribution(name, double.NaN, double.NaN)], name),
        };
        foreach (var chart in charts)
        {
            var root = XDocument.Parse(chart).Root!;
            Assert.AreEqual(Svg + "svg", root.Name);
            Assert.IsTrue(Attribute(root, "width") > 0 && Attribute(root, "height") > 0);
            Assert.IsFalse(chart.Contains("NaN", StringComparison.Ordinal) && chart.Contains("=\"NaN\"", StringComparison.Ordinal), "no NaN coordinates");
        }
        StringAssert.Contains(charts[0], "a&lt;b&gt;&amp;&quot;c&quot;\uFFFD&#39;");
    }
}
