using System.CommandLine;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using MLNet.Explain.Cli;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Cli;

/// <summary><c>mlnet-explain shap</c> on saved breast cancer, wine and diabetes models.</summary>
[TestClass]
public sealed class ShapCommandTests
{
    private static string _folder = "";

    [ClassInitialize]
    public static void CreateFolder(TestContext _)
    {
        _folder = Path.Combine(Path.GetTempPath(), "mlnet-explain-shap-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
    }

    [ClassCleanup]
    public static void DeleteFolder()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static (int Exit, string Output) Run(params string[] args) => CliRunner.Run(args);

    private static string SaveModel(MLContext ml, ITransformer model, IDataView data, string name)
    {
        var path = Path.Combine(_folder, name);
        ml.Model.Save(model, data.Schema, path);
        return path;
    }

    /// <summary>Lines of a bundled CSV (header first), optionally without the last (label) column.</summary>
    private static string WriteRows(string file, string name, IEnumerable<int> dataLines, bool dropLabel)
    {
        var lines = File.ReadAllLines(TestData.PathOf(file));
        var path = Path.Combine(_folder, name);
        File.WriteAllLines(path, new[] { 0 }.Concat(dataLines.Select(i => i + 1))
            .Select(i => dropLabel ? string.Join(',', lines[i].Split(',')[..^1]) : lines[i]));
        return path;
    }

    private static (string[] Header, List<string[]> Rows) ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToList());
    }

    private static float Cell(string cell) => float.Parse(cell, CultureInfo.InvariantCulture);

    [TestMethod]
    public void WritesOneRowPerInputRowWhoseValuesAddUpToTheModelScore()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, features) = TestData.BreastCancerFastTree(ml, trees: 10);
        var modelPath = SaveModel(ml, model, data, "breast-cancer.zip");
        var rowsPath = WriteRows("breast_cancer.csv", "bc-rows.csv", Enumerable.Range(0, 9), dropLabel: true);
        var outPath = Path.Combine(_folder, "bc-shap.csv");

        var (exit, text) = Run("shap", "--model", modelPath, "--data", rowsPath, "--background", TestData.PathOf("breast_cancer.csv"), "--out", outPath);
        Assert.AreEqual(0, exit, text);
        StringAssert.Contains(text, "Wrote 9 explained rows");
        StringAssert.Contains(text, "Tree SHAP");

        var (header, rows) = ReadCsv(outPath);
        CollectionAssert.AreEqual(new[] { "Row" }.Concat(features).Concat(["BaseValue", "Output"]).ToArray(), header);
        Assert.HasCount(9, rows);

        // The same stage in process (covers from the whole data set, like --background) on the same rows.
        var shap = ml.Explain().Shap().Fit(model, data);
        var expected = shap.Transform(ml.Data.TakeRows(data, 9));
        var values = expected.GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
        var scores = expected.GetColumn<float>("Score").ToList();
        for (int r = 0; r < rows.Count; r++)
        {
            var cells = rows[r];
            Assert.AreEqual(r.ToString(CultureInfo.InvariantCulture), cells[0]);
            var rowValues = cells[1..^2].Select(Cell).ToArray();
            CollectionAssert.AreEqual(values[r], rowValues, $"row {r}");
            float baseValue = Cell(cells[^2]), output = Cell(cells[^1]);
            AssertAdditive(output, baseValue + rowValues.Sum(v => (double)v), $"row {r}: BaseValue + Σ values = Output");
            AssertAdditive(scores[r], output, $"row {r}: Output is the model's Score");
        }
    }

    [TestMethod]
    public void OptionsReachTheStage()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 8);
        var modelPath = SaveModel(ml, model, data, "breast-cancer-options.zip");
        var rowsPath = WriteRows("breast_cancer.csv", "bc-options-rows.csv", [5, 60, 300], dropLabel: true);
        var background = TestData.PathOf("breast_cancer.csv");
        var rows = ModelInput.LoadRowsFor(ml, model, data.Schema, rowsPath);

        foreach (var (args, options) in new (string[], ShapOptions)[]
        {
            (["--output", "probability", "--link", "logit", "--perturbation", "interventional", "--max-background", "7", "--seed", "4"],
                new ShapOptions { Output = ShapOutput.Probability, Link = ShapLink.Logit, TreePerturbation = TreeShapPerturbation.Interventional, MaxBackgroundRows = 7, Seed = 4 }),
            (["--algorithm", "kernel", "--samples", "300", "--max-background", "6", "--seed", "5"],
                new ShapOptions { Algorithm = ShapAlgorithmKind.Kernel, NumberOfSamples = 300, MaxBackgroundRows = 6, Seed = 5 }),
        })
        {
            var outPath = Path.Combine(_folder, "bc-options.csv");
            var (exit, text) = Run(["shap", "--model", modelPath, "--data", rowsPath, "--background", background, .. args, "--out", outPath]);
            Assert.AreEqual(0, exit, text);
            var shap = ml.Explain().Shap(options).Fit(model, data);
            StringAssert.Contains(text, shap.ExplainedOutput);
            var expected = shap.Transform(rows).GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
            var written = ReadCsv(outPath).Rows;
            for (int r = 0; r < 3; r++)
                CollectionAssert.AreEqual(expected[r], written[r][1..^2].Select(Cell).ToArray(), $"{string.Join(' ', args)}: row {r}");
        }
    }

    [TestMethod]
    public void MulticlassWritesTheChosenOrPredictedClass()
    {
        var ml = new MLContext(seed: 1);
        var split = Wine(ml);
        var model = Fit(ml, split, ml.MulticlassClassification.Trainers.LightGbm(split.Label, numberOfLeaves: 6, numberOfIterations: 10), keyLabel: true);
        var modelPath = SaveModel(ml, model, split.Train, "wine.zip");
        // The key mapping of the label is part of the model, so the rows keep their label column.
        var rowsPath = WriteRows("wine.csv", "wine-rows.csv", Enumerable.Range(0, 178).Where(i => i % 15 == 0), dropLabel: false);

        var chosenPath = Path.Combine(_folder, "wine-class1.csv");
        var (exit, text) = Run("shap", "--model", modelPath, "--data", rowsPath, "--background", TestData.PathOf("wine.csv"),
            "--class", "class_1", "--with-class", "--out", chosenPath);
        Assert.AreEqual(0, exit, text);
        var (header, rows) = ReadCsv(chosenPath);
        Assert.AreEqual("Class", header[^1]);
        Assert.AreEqual("Output", header[^2]);
        Assert.HasCount(12, rows);
        Assert.IsTrue(rows.All(r => r[^1] == "class_1"));
        var classOne = new List<float>();
        foreach (var row in rows)
        {
            AssertAdditive(Cell(row[^2]), Cell(row[^3]) + row[1..^3].Sum(c => (double)Cell(c)), "BaseValue + Σ values = Output");
            classOne.Add(Cell(row[^2]));
        }

        var predictedPath = Path.Combine(_folder, "wine-predicted.csv");
        (exit, text) = Run("shap", "--model", modelPath, "--data", rowsPath, "--background", TestData.PathOf("wine.csv"), "--with-class", "--out", predictedPath);
        Assert.AreEqual(0, exit, text);
        var predicted = ReadCsv(predictedPath).Rows;
        var labels = File.ReadLines(rowsPath).Skip(1).Select(l => l.Split(',')[^1]).ToList();
        Assert.IsTrue(predicted.Zip(labels).Count(p => p.First[^1] == p.Second) >= 10, "the predicted class is mostly the true class");
        for (int r = 0; r < predicted.Count; r++)
            if (predicted[r][^1] == "class_1")
                Assert.AreEqual(classOne[r], Cell(predicted[r][^2]), $"row {r}: same class, same output");
    }

    [TestMethod]
    public void KernelAndLinearAgreeOnALinearModel()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Transforms.NormalizeMeanVariance("Features").Append(ml.Regression.Trainers.Sdca(split.Label, maximumNumberOfIterations: 20)));
        var modelPath = SaveModel(ml, model, split.Train, "diabetes-linear.zip");
        var rowsPath = WriteRows("diabetes.csv", "diabetes-rows.csv", [3, 50, 200, 301], dropLabel: true);
        var backgroundPath = WriteRows("diabetes.csv", "diabetes-background.csv", Enumerable.Range(100, 20), dropLabel: false);

        var linearPath = Path.Combine(_folder, "linear.csv");
        var kernelPath = Path.Combine(_folder, "kernel.csv");
        Assert.AreEqual(0, Run("shap", "--model", modelPath, "--data", rowsPath, "--background", backgroundPath, "--out", linearPath).Exit);
        var (exit, text) = Run("shap", "--model", modelPath, "--data", rowsPath, "--background", backgroundPath, "--algorithm", "kernel", "--out", kernelPath);
        Assert.AreEqual(0, exit, text);
        StringAssert.Contains(text, "Kernel SHAP");

        // 10 features fit Kernel SHAP's default budget whole (exact enumeration); 20 background rows are kept as they are.
        var linear = ReadCsv(linearPath).Rows;
        var kernel = ReadCsv(kernelPath).Rows;
        Assert.HasCount(4, kernel);
        var weights = ((LinearRegressionModelParameters)ModelParts.Of(model, split.Train.Schema).Predictor.Model).Weights;
        Assert.IsTrue(weights.Count(w => w != 0) >= 5, "a model with several nonzero weights");
        for (int r = 0; r < 4; r++)
            for (int j = 1; j <= 10; j++)
                Assert.AreEqual(Cell(linear[r][j]), Cell(kernel[r][j]), 2e-3 + 1e-4 * Math.Abs(Cell(linear[r][j])), $"row {r} feature {j}");
    }

    [TestMethod]
    public void BadInputIsReportedClearly()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var linearModel = Fit(ml, split, ml.Regression.Trainers.Sdca(split.Label, maximumNumberOfIterations: 5));
        var modelPath = SaveModel(ml, linearModel, split.Train, "bad-input.zip");
        var rowsPath = WriteRows("diabetes.csv", "bad-rows.csv", [0, 1, 2], dropLabel: true);
        var outPath = Path.Combine(_folder, "bad.csv");

        var tree = Assert.ThrowsExactly<NotSupportedException>(() => Run("shap", "--model", modelPath, "--data", rowsPath, "--algorithm", "tree", "--out", outPath));
        StringAssert.Contains(tree.Message, "LinearRegressionModelParameters");

        var partial = Path.Combine(_folder, "partial.csv");
        File.WriteAllLines(partial, File.ReadLines(rowsPath).Select(line => string.Join(',', line.Split(',').Where((_, i) => i != 2))));
        var missing = Assert.ThrowsExactly<InvalidDataException>(() => Run("shap", "--model", modelPath, "--data", rowsPath, "--background", partial, "--out", outPath));
        StringAssert.Contains(missing.Message, "'Bmi'");

        var className = Assert.ThrowsExactly<ArgumentException>(() => Run("shap", "--model", modelPath, "--data", rowsPath, "--class", "class_1", "--out", outPath));
        StringAssert.Contains(className.Message, "single output");

        var (exit, text) = Run("shap", "--model", modelPath, "--data", rowsPath, "--algorithm", "exact", "--out", outPath);
        Assert.AreNotEqual(0, exit);
        StringAssert.Contains(text, "exact");
        Assert.IsFalse(File.Exists(outPath), "nothing is written on bad input");
    }
}
