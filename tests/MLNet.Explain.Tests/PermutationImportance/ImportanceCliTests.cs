using System.Text.Json;
using Microsoft.ML;
using MLNet.Explain.Cli;
using MLNet.Explain.Samples;

namespace MLNet.Explain.Tests.PermutationImportance;

/// <summary><c>mlnet-explain importance</c> on a saved model, and the QuickStart sample as a smoke test.</summary>
[TestClass]
public sealed class ImportanceCliTests
{

    [TestMethod]
    public void ImportanceRunsOnASavedModelWithColumnsMatchedByHeaderName()
    {
        using var files = new TempFolder();
        var ml = new MLContext(seed: 1);
        var (data, model, features) = TestData.BreastCancerFastTree(ml, trees: 10);
        string modelPath = files.Path("model.zip");
        ml.Model.Save(model, data.Schema, modelPath);
        // The same rows with the columns in another order: the label first, the features reversed.
        string csv = files.Path("data.csv");
        var lines = File.ReadAllLines(TestData.PathOf("breast_cancer.csv")).Select(l => l.Split(','));
        File.WriteAllLines(csv, lines.Select(cells => string.Join(',', new[] { cells[^1] }.Concat(cells[..^1].Reverse()))));

        var (code, output, _) = Run(["importance", "--model", modelPath, "--data", csv, "--label", "Malignant", "--repeats", "3", "--seed", "4", "--out", files.Path("result.json")]);

        Assert.AreEqual(0, code, output);
        using var json = JsonDocument.Parse(File.ReadAllText(files.Path("result.json")));
        var cliFeatures = json.RootElement.GetProperty("features").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        CollectionAssert.AreEquivalent(features, cliFeatures.Keys.ToArray(), "column level by default");
        var expected = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Level = ImportanceLevel.Columns, Repeats = 3, Seed = 4 })
            .Fit(model, data).Result;
        foreach (var feature in expected.Features)
            CollectionAssert.AreEqual(feature.Values.ToArray(), cliFeatures[feature.Name], feature.Name);
        Assert.AreEqual("AreaUnderRocCurve", json.RootElement.GetProperty("metric").GetString());
        StringAssert.Contains(output, expected.Features[0].Name);
    }

    [TestMethod]
    public void SlotLevelWithMetricWritesCsv()
    {
        using var files = new TempFolder();
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 10);
        ml.Model.Save(model, data.Schema, files.Path("model.zip"));

        var (code, output, _) = Run(["importance", "--model", files.Path("model.zip"), "--data", TestData.PathOf("breast_cancer.csv"), "--label", "Malignant",
            "--by", "slots", "--metric", "accuracy", "--repeats", "2", "--out", files.Path("result.csv")]);

        Assert.AreEqual(0, code, output);
        var lines = File.ReadAllLines(files.Path("result.csv"));
        Assert.AreEqual("rank,name,mean,stdDev,stdErr,ci95Low,ci95High,value1,value2", lines[0]);
        Assert.AreEqual(31, lines.Length);
        StringAssert.Contains(output, "Accuracy baseline");
    }

    [TestMethod]
    public void MissingDataColumnFailsNamingIt()
    {
        using var files = new TempFolder();
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        ml.Model.Save(model, data.Schema, files.Path("model.zip"));
        File.WriteAllLines(files.Path("data.csv"), File.ReadAllLines(TestData.PathOf("breast_cancer.csv")).Select(l => string.Join(',', l.Split(',').Skip(1))));

        var (code, _, error) = Run(["importance", "--model", files.Path("model.zip"), "--data", files.Path("data.csv"), "--label", "Malignant", "--out", files.Path("r.json")]);

        Assert.AreEqual(1, code);
        StringAssert.Contains(error, "has no column 'MeanRadius' that the model reads");
    }

    [TestMethod]
    public void HelpShowsAnExample()
    {
        var (code, output, _) = Run(["importance", "--help"]);
        Assert.AreEqual(0, code);
        StringAssert.Contains(output, "mlnet-explain importance --model model.zip --data data.csv --label");
        StringAssert.Contains(output, "--by");
    }

    [TestMethod]
    public void QuickStartSampleRunsAndWritesItsOutputs()
    {
        using var files = new TempFolder();
        var console = new StringWriter();

        var result = QuickStartApp.Run(files.Path("out"), console);

        Assert.IsTrue(result.Baseline > 0.9, $"test AUC {result.Baseline}");
        Assert.AreEqual(30, result.Features.Count);
        Assert.IsTrue(result.Features[0].Ci95Low > 0, "the top feature matters");
        StringAssert.Contains(console.ToString(), result.Features[0].Name);
        Assert.AreEqual(result.ToJson(), File.ReadAllText(files.Path("out/importance.json")));
        Assert.AreEqual(31, File.ReadAllLines(files.Path("out/importance.csv")).Length);
        var report = MLNet.Explain.Report.ReportJson.Deserialize(File.ReadAllText(files.Path("out/report/explanations.json")));
        Assert.IsTrue(report.PermutationImportance.Available && report.Shap.Available && report.Lime.Available, "the report has every method");
        Assert.AreEqual(result.Features[0].Name, report.PermutationImportance.Features[0].Name, "the report shows the sample's importances");
        Assert.IsTrue(File.Exists(files.Path("out/report/index.html")));
        StringAssert.Contains(console.ToString(), "report");
    }

    private static (int Code, string Output, string Error) Run(string[] args) => ConsoleCapture.Run(() => CliApp.Run(args));

    private sealed class TempFolder : IDisposable
    {
        private readonly string _root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"pfi-cli-{Guid.NewGuid():N}");

        public TempFolder() => Directory.CreateDirectory(_root);

        public string Path(string name) => System.IO.Path.Combine(_root, name);

        public void Dispose() => Directory.Delete(_root, recursive: true);
    }
}
