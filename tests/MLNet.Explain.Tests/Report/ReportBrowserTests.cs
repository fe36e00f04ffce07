using Microsoft.ML;
using MLNet.Explain.Report;

namespace MLNet.Explain.Tests.Report;

/// <summary>
/// Acceptance tests of the HTML report in a real browser (headless Chromium): the charts are drawn, the page logs no
/// error, makes no request, and names from the data that look like HTML or script stay text.
/// </summary>
[TestClass]
public sealed class ReportBrowserTests
{
    private static ReportBrowser? _browser;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task LaunchBrowser(TestContext _)
    {
        if (ReportBrowser.WhyUnavailable() is null)
            _browser = await ReportBrowser.LaunchAsync();
    }

    [ClassCleanup]
    public static async Task CloseBrowser()
    {
        if (_browser is not null) await _browser.DisposeAsync();
    }

    private string ArtefactFolder(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "report-artefacts", name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        return folder;
    }

    [TestMethod]
    public async Task BreastCancerReportDrawsEveryChartWithoutErrorsOrRequests()
    {
        if (ReportBrowser.WhyUnavailable() is { } reason)
        {
            Console.WriteLine(reason);
            return;
        }
        var ml = new MLContext(seed: 1);
        var report = ReportFixtures.BreastCancerFastTree(ml, [0, 5, 17]);
        Assert.IsTrue(report.Document.Shap.Available && report.Document.Lime.Available, "TreeSHAP and LIME explain FastTree");
        var folder = ArtefactFolder("breast-cancer");
        report.Save(folder);

        var visit = await _browser!.OpenAsync(Path.Combine(folder, ExplanationReport.HtmlFileName));
        var screenshot = Path.Combine(folder, "screenshot.png");
        await visit.Page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        TestContext.AddResultFile(screenshot);

        var boxes = await visit.ChartBoxesAsync();
        Assert.AreEqual(report.Charts.Count, boxes.Count, "one figure per chart");
        foreach (var (id, width, height) in boxes)
            Assert.IsTrue(width > 100 && height > 100, $"chart {id} is laid out at {width}x{height}");
        int dots = await visit.Page.Locator("#chart-shap-summary circle").CountAsync();
        Assert.AreEqual(569 * 20, dots, "the beeswarm draws one dot per row for each of the 20 features shown");
        var firstDot = await visit.Page.Locator("#chart-shap-summary circle").First.BoundingBoxAsync();
        Assert.IsTrue(firstDot is { Width: > 1, Height: > 1 }, "dots are visible");

        Assert.AreEqual(0, visit.ConsoleErrors.Count, "console: " + string.Join(" | ", visit.ConsoleErrors));
        Assert.AreEqual(0, visit.OtherRequests.Count(), "requests: " + string.Join(", ", visit.OtherRequests));
        Assert.AreEqual(0, visit.Dialogs.Count);
        Assert.AreEqual(0, await visit.Page.Locator("script").CountAsync(), "the report has no script at all");
    }

    [TestMethod]
    public async Task NamesThatLookLikeHtmlAreShownAsTextAndNeverRun()
    {
        if (ReportBrowser.WhyUnavailable() is { } reason)
        {
            Console.WriteLine(reason);
            return;
        }
        var ml = new MLContext(seed: 1);
        var report = ReportFixtures.Injection(ml);
        var folder = ArtefactFolder("injection");
        report.Save(folder);

        var visit = await _browser!.OpenAsync(Path.Combine(folder, ExplanationReport.HtmlFileName));
        // Hovering is what would fire an onmouseover payload: hover every element that shows one.
        var shown = visit.Page.Locator("td, th, .card .v, text").Filter(new() { HasText = "onmouseover" });
        Assert.IsTrue(await shown.CountAsync() > 0, "the label name is on the page");
        for (int i = 0; i < await shown.CountAsync(); i++)
            await shown.Nth(i).HoverAsync(new() { Force = true });
        var screenshot = Path.Combine(folder, "screenshot.png");
        await visit.Page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        TestContext.AddResultFile(screenshot);

        Assert.AreEqual(0, visit.Dialogs.Count, "dialogs opened: " + string.Join(" | ", visit.Dialogs));
        Assert.IsTrue(await visit.Page.EvaluateAsync<bool>("() => typeof window.__pwned === 'undefined'"), "the onerror payload ran");
        Assert.AreEqual(0, await visit.Page.Locator("script, img, iframe, object, embed").CountAsync(), "no element was injected");
        Assert.IsTrue(await visit.Page.EvaluateAsync<bool>(
            "() => [...document.querySelectorAll('*')].every(e => [...e.attributes].every(a => !a.name.startsWith('on')))"),
            "no event-handler attribute exists in the page");
        var text = await visit.Page.InnerTextAsync("body");
        StringAssert.Contains(text, ReportTestModels.ScriptColumn, "the column name is shown literally");
        StringAssert.Contains(text, ReportTestModels.ImageCategory, "the category value is shown literally");
        StringAssert.Contains(text, ReportTestModels.LabelColumn, "the label name is shown literally");
        var svgText = await visit.Page.Locator("#chart-shap-summary").InnerTextAsync();
        StringAssert.Contains(svgText, ReportTestModels.ScriptColumn, "chart labels show the name literally too");
        Assert.AreEqual(0, visit.ConsoleErrors.Count, "console: " + string.Join(" | ", visit.ConsoleErrors));
        Assert.AreEqual(0, visit.OtherRequests.Count(), "requests: " + string.Join(", ", visit.OtherRequests));
    }
}
