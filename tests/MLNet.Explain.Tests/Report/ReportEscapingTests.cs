using System.Xml.Linq;
using Microsoft.ML;
using MLNet.Explain.Report;

namespace MLNet.Explain.Tests.Report;

/// <summary>
/// Names and values from the data reach the page only as escaped text (the browser test shows the payloads do not run;
/// these tests pin the markup itself, without a browser).
/// </summary>
[TestClass]
public sealed class ReportEscapingTests
{
    [TestMethod]
    public void PayloadsInNamesAndValuesAreEscapedInThePageAndTheCharts()
    {
        var report = ReportFixtures.Injection(new MLContext(seed: 1));
        var html = report.ToHtml();

        Assert.IsFalse(html.Contains("<script", StringComparison.OrdinalIgnoreCase), "no script element");
        Assert.IsFalse(html.Contains("<img", StringComparison.OrdinalIgnoreCase), "no img element");
        Assert.IsFalse(html.Contains("<i>untrusted", StringComparison.Ordinal), "the title is escaped");
        Assert.IsFalse(System.Text.RegularExpressions.Regex.IsMatch(html, @"<[a-z]+[^>]*\son[a-z]+\s*=", System.Text.RegularExpressions.RegexOptions.IgnoreCase),
            "no event-handler attribute anywhere");
        StringAssert.Contains(html, Markup.Escape(ReportTestModels.ScriptColumn));
        StringAssert.Contains(html, Markup.Escape(ReportTestModels.LabelColumn));
        StringAssert.Contains(html, Markup.Escape(ReportTestModels.ImageCategory));
        StringAssert.Contains(html, "Content-Security-Policy", "defence in depth: the page forbids scripts and requests");

        var texts = report.Charts.SelectMany(c => XDocument.Parse(c.Svg).Descendants().Where(e => e.Name.LocalName is "text" or "title")).Select(e => e.Value).ToList();
        Assert.IsTrue(texts.Any(t => t.Contains(ReportTestModels.ScriptColumn, StringComparison.Ordinal)), "charts show the name as text");
        Assert.IsTrue(texts.Any(t => t.Contains("onerror", StringComparison.Ordinal)), "the one-hot slot names reach the charts as text");
        foreach (var chart in report.Charts)
            Assert.IsFalse(XDocument.Parse(chart.Svg).Descendants().Any(e => e.Name.LocalName is "script" or "foreignObject" or "img"), chart.File.Id);
    }

    [TestMethod]
    public void TheJsonKeepsNamesVerbatimAndSafeToEmbed()
    {
        var report = ReportFixtures.Injection(new MLContext(seed: 1));
        var json = report.ToJson();
        Assert.IsFalse(json.Contains('<'), "System.Text.Json escapes markup characters as \\u003C");
        var back = ReportJson.Deserialize(json);
        CollectionAssert.Contains(back.Model.FeatureNames.ToList(), ReportTestModels.ScriptColumn);
        Assert.AreEqual(ReportTestModels.LabelColumn, back.Data.LabelColumn);
        Assert.AreEqual(ReportTestModels.ImageCategory + ".csv", back.Data.Source);
    }
}
