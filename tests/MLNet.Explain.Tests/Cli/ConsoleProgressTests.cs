using MLNet.Explain.Cli;

namespace MLNet.Explain.Tests.Cli;

[TestClass]
public sealed class ConsoleProgressTests
{
    [TestMethod]
    public void OnATerminalTheBarIsRedrawnInPlace()
    {
        var writer = new StringWriter();
        using (var progress = new ConsoleProgress(writer, interactive: true))
        {
            progress.Report("Scoring the data", 0);
            progress.Report("Computing SHAP values", 0.5);
            progress.Report("Computing SHAP values", 1);
        }
        var text = writer.ToString();
        Assert.AreEqual(3, text.Count(c => c == '\r'), "one redraw per stage change and one at completion");
        StringAssert.Contains(text, "[###############---------------]  50%  Computing SHAP values");
        StringAssert.Contains(text, "[##############################] 100%  Computing SHAP values");
        Assert.IsTrue(text.EndsWith(Environment.NewLine, StringComparison.Ordinal), "the line is ended when done");
    }

    [TestMethod]
    public void WhenRedirectedItPrintsALinePerStage()
    {
        var writer = new StringWriter();
        using (var progress = new ConsoleProgress(writer, interactive: false))
        {
            progress.Report("Scoring the data", 0);
            progress.Report("Scoring the data", 0.1);
            progress.Report("Writing the report", 0.9);
        }
        var lines = writer.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        CollectionAssert.AreEqual(new[] { "  0% Scoring the data", " 90% Writing the report" }, lines);
    }
}
