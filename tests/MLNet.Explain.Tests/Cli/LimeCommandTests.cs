using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Cli;

namespace MLNet.Explain.Tests.Cli;

/// <summary><c>mlnet-explain lime</c> on a saved breast cancer FastTree model.</summary>
[TestClass]
public sealed class LimeCommandTests
{
    private static string _folder = "";
    private static string _modelPath = "";
    private static string _rowsPath = "";

    [ClassInitialize]
    public static void SaveModel(TestContext _)
    {
        _folder = Path.Combine(Path.GetTempPath(), "mlnet-explain-lime-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        _modelPath = Path.Combine(_folder, "model.zip");
        ml.Model.Save(model, data.Schema, _modelPath);
        // Rows to explain without the label column: the model does not read it.
        _rowsPath = Path.Combine(_folder, "rows.csv");
        File.WriteAllLines(_rowsPath, File.ReadLines(TestData.PathOf("breast_cancer.csv")).Take(7).Select(line => string.Join(',', line.Split(',')[..^1])));
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static (int Exit, string Output) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void WritesOneRowPerInputRowWithTheStageWeights()
    {
        var outPath = Path.Combine(_folder, "lime.csv");
        var (exit, text) = Run("lime", "--model", _modelPath, "--data", _rowsPath, "--background", TestData.PathOf("breast_cancer.csv"),
            "--samples", "300", "--features", "4", "--seed", "3", "--out", outPath);
        Assert.AreEqual(0, exit, text);
        StringAssert.Contains(text, "Wrote 6 explained rows");

        var lines = File.ReadAllLines(outPath);
        var features = TestData.BreastCancer(new MLContext()).Features;
        CollectionAssert.AreEqual(new[] { "Row" }.Concat(features).Concat(["Intercept", "LocalPrediction", "Score"]).ToArray(), lines[0].Split(','));
        Assert.HasCount(7, lines);

        // The same explanation in process: same seed, same statistics (the whole data set), same rows.
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        var lime = ml.Explain().Lime(new LimeOptions { NumberOfSamples = 300, NumberOfFeatures = 4, Seed = 3 }).Fit(model, data);
        var expected = lime.Transform(ml.Data.TakeRows(data, 6));
        var weights = expected.GetColumn<float[]>("LimeWeights").ToArray();
        var scores = expected.GetColumn<float>("LimeScore").ToArray();
        for (int r = 0; r < 6; r++)
        {
            var cells = lines[r + 1].Split(',').Select(c => float.Parse(c, CultureInfo.InvariantCulture)).ToArray();
            Assert.AreEqual(r, (int)cells[0]);
            CollectionAssert.AreEqual(weights[r], cells[1..31], $"row {r}");
            Assert.AreEqual(4, cells[1..31].Count(w => w != 0));
            Assert.AreEqual(scores[r], cells[^1]);
        }
    }

    [TestMethod]
    public void ChosenClassAndClassColumn()
    {
        var outPath = Path.Combine(_folder, "lime-class.csv");
        var (exit, text) = Run("lime", "--model", _modelPath, "--data", _rowsPath, "--class", "False", "--samples", "200", "--with-class", "--out", outPath);
        Assert.AreEqual(0, exit, text);
        var lines = File.ReadAllLines(outPath);
        Assert.AreEqual("Class", lines[0].Split(',')[^1]);
        Assert.IsTrue(lines.Skip(1).All(line => line.EndsWith(",False", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void BadInputIsReportedClearly()
    {
        var partial = Path.Combine(_folder, "partial.csv");
        File.WriteAllLines(partial, File.ReadLines(_rowsPath).Select(line => string.Join(',', line.Split(',').Skip(1))));
        var missing = Assert.ThrowsExactly<InvalidDataException>(() => Run("lime", "--model", _modelPath, "--data", partial, "--out", Path.Combine(_folder, "x.csv")));
        StringAssert.Contains(missing.Message, "'MeanRadius'");

        var samples = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Run("lime", "--model", _modelPath, "--data", _rowsPath, "--samples", "1", "--out", Path.Combine(_folder, "x.csv")));
        StringAssert.Contains(samples.Message, "at least 2 samples");

        var className = Assert.ThrowsExactly<ArgumentException>(() => Run("lime", "--model", _modelPath, "--data", _rowsPath, "--class", "Maybe", "--out", Path.Combine(_folder, "x.csv")));
        StringAssert.Contains(className.Message, "False, True");
    }
}
