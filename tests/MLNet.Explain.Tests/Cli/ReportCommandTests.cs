using System.CommandLine;
using System.Text.Json;
using Microsoft.ML;
using MLNet.Explain.Cli;
using MLNet.Explain.Tests.Report;

namespace MLNet.Explain.Tests.Cli;

/// <summary><c>mlnet-explain report</c> on a saved breast cancer FastTree model and the bundled CSV.</summary>
[TestClass]
public sealed class ReportCommandTests
{
    private static string _folder = "";
    private static string _modelPath = "";

    [ClassInitialize]
    public static void SaveModel(TestContext _)
    {
        _folder = Path.Combine(Path.GetTempPath(), "mlnet-explain-report-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        _modelPath = Path.Combine(_folder, "model.zip");
        ml.Model.Save(model, data.Schema, _modelPath);
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static (int Exit, string Output) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void RunReportsErrorsInOneLineWithExitCodeOne()
    {
        var (exit, _, error) = ConsoleCapture.Run(() =>
            CliApp.Run(["report", "--model", Path.Combine(_folder, "missing.zip"), "--data", "x.csv", "--label", "L", "--out", _folder]));
        Assert.AreEqual(1, exit);
        StringAssert.StartsWith(error, "mlnet-explain: error: Model file");
    }

    [TestMethod]
    public void WritesThePageTheJsonAndTheCharts()
    {
        var output = Path.Combine(_folder, "report");
        var (exit, text) = Run("report", "--model", _modelPath, "--data", TestData.PathOf("breast_cancer.csv"), "--label", "Malignant",
            "--rows", "0, 5,17", "--out", output);

        Assert.AreEqual(0, exit, text);
        StringAssert.Contains(text, "index.html");
        var html = File.ReadAllText(Path.Combine(output, "index.html"));
        StringAssert.Contains(html, "FastTreeBinaryModelParameters");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "explanations.json")));
        var errors = JsonSchemaValidator.Load(Path.Combine(AppContext.BaseDirectory, "docs", "report.schema.json")).Validate(json.RootElement);
        Assert.AreEqual(0, errors.Count, string.Join("\n", errors));
        var root = json.RootElement;
        Assert.AreEqual(569, root.GetProperty("data").GetProperty("rowCount").GetInt64());
        Assert.AreEqual("breast_cancer.csv", root.GetProperty("data").GetProperty("source").GetString());
        CollectionAssert.AreEqual(new long[] { 0, 5, 17 }, root.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("index").GetInt64()).ToArray());
        Assert.IsTrue(root.GetProperty("metrics").GetProperty("values").EnumerateArray().Any(m => m.GetProperty("name").GetString() == "AUC"));
        foreach (var chart in root.GetProperty("charts").EnumerateArray())
            Assert.IsTrue(File.Exists(Path.Combine(output, chart.GetProperty("file").GetString()!)));
    }

    [TestMethod]
    public void BadInputIsReportedClearly()
    {
        var data = TestData.PathOf("breast_cancer.csv");
        var badRows = Assert.ThrowsExactly<FormatException>(() =>
            Run("report", "--model", _modelPath, "--data", data, "--label", "Malignant", "--rows", "0,x", "--out", Path.Combine(_folder, "bad")));
        StringAssert.Contains(badRows.Message, "'x'");

        var noModel = Assert.ThrowsExactly<FileNotFoundException>(() =>
            Run("report", "--model", Path.Combine(_folder, "missing.zip"), "--data", data, "--label", "Malignant", "--out", Path.Combine(_folder, "bad")));
        StringAssert.Contains(noModel.Message, "missing.zip");

        var partial = Path.Combine(_folder, "partial.csv");
        File.WriteAllLines(partial, File.ReadLines(data).Select(line => string.Join(',', line.Split(',').Skip(1))));
        var missingColumn = Assert.ThrowsExactly<InvalidDataException>(() =>
            Run("report", "--model", _modelPath, "--data", partial, "--label", "Malignant", "--out", Path.Combine(_folder, "bad")));
        StringAssert.Contains(missingColumn.Message, "'MeanRadius'");

        var (exit, _) = Run("report", "--model", _modelPath, "--data", data, "--out", Path.Combine(_folder, "bad"));
        Assert.AreNotEqual(0, exit, "--label is required");
    }
}
