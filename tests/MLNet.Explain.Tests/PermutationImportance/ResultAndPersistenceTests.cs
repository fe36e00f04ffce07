using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.PermutationImportance;

[TestClass]
public sealed class ResultAndPersistenceTests
{
    private static (MLContext Ml, IDataView Data, ITransformer Model, PermutationImportanceTransformer Fitted) Fitted()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 10);
        var fitted = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Repeats = 3, Seed = 2 }).Fit(model, data);
        return (ml, data, model, fitted);
    }

    [TestMethod]
    public void JsonHasTheContractShapeMostImportantFirst()
    {
        var (_, _, _, fitted) = Fitted();
        var result = fitted.Result;
        using var json = JsonDocument.Parse(result.ToJson());
        var root = json.RootElement;

        Assert.AreEqual("AreaUnderRocCurve", root.GetProperty("metric").GetString());
        Assert.AreEqual(result.Baseline, root.GetProperty("baseline").GetDouble());
        var features = root.GetProperty("features").EnumerateArray().ToList();
        Assert.AreEqual(30, features.Count);
        var means = features.Select(f => f.GetProperty("mean").GetDouble()).ToList();
        CollectionAssert.AreEqual(means.OrderByDescending(m => m).ToList(), means, "most important first");
        var first = features[0];
        CollectionAssert.AreEqual(new[] { "name", "mean", "stdDev", "stdErr", "ci95Low", "ci95High", "values" },
            first.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.AreEqual(result.Features[0].Name, first.GetProperty("name").GetString());
        Assert.AreEqual(result.Features[0].Ci95High, first.GetProperty("ci95High").GetDouble());
        CollectionAssert.AreEqual(result.Features[0].Values.ToArray(), first.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray());
    }

    [TestMethod]
    public void CsvAndDataViewHoldTheRanking()
    {
        var (_, _, _, fitted) = Fitted();
        var result = fitted.Result;
        var lines = result.ToCsv().TrimEnd('\n').Split('\n');
        Assert.AreEqual("rank,name,mean,stdDev,stdErr,ci95Low,ci95High,value1,value2,value3", lines[0]);
        Assert.AreEqual(31, lines.Length);
        var cells = lines[1].Split(',');
        Assert.AreEqual(result.Features[0].Name, cells[1]);
        Assert.AreEqual(result.Features[0].Mean, double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture));

        var view = result.ToDataView();
        CollectionAssert.AreEqual(result.Features.Select(f => f.Name).ToArray(), view.GetColumn<string>("Name").ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(1, 30).ToArray(), view.GetColumn<int>("Rank").ToArray());
        CollectionAssert.AreEqual(result.Features[0].Values.ToArray(), view.GetColumn<double[]>("Values").First());
    }

    [TestMethod]
    public void SaveWritesJsonOrCsvByExtension()
    {
        var (_, _, _, fitted) = Fitted();
        var folder = Path.Combine(Path.GetTempPath(), $"pfi-{Guid.NewGuid():N}");
        try
        {
            fitted.Result.Save(Path.Combine(folder, "a.json"));
            fitted.Result.Save(Path.Combine(folder, "a.csv"));
            Assert.AreEqual(fitted.Result.ToJson(), File.ReadAllText(Path.Combine(folder, "a.json")));
            Assert.AreEqual(fitted.Result.ToCsv(), File.ReadAllText(Path.Combine(folder, "a.csv")));
            Assert.ThrowsExactly<ArgumentException>(() => fitted.Result.Save(Path.Combine(folder, "a.txt")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void SingleRepeatHasUndefinedSpreadWrittenAsNull()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        var result = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Repeats = 1 }).Fit(model, data).Result;
        Assert.IsTrue(double.IsNaN(result.Features[0].StdDev));
        using var json = JsonDocument.Parse(result.ToJson());
        Assert.AreEqual(JsonValueKind.Null, json.RootElement.GetProperty("features")[0].GetProperty("stdDev").ValueKind);
    }

    [TestMethod]
    public void SavedStageLoadsWithItsResultAndGivesIdenticalOutputs()
    {
        var (ml, data, _, fitted) = Fitted();
        var path = Path.Combine(Path.GetTempPath(), $"pfi-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(fitted, data.Schema, path);
            var loaded = (PermutationImportanceTransformer)new MLContext(seed: 5).Model.Load(path, out _);

            Assert.AreEqual(fitted.Result.ToJson(), loaded.Result.ToJson());
            CollectionAssert.AreEqual(fitted.Importances.Select(f => f.Members.Count).ToArray(), loaded.Importances.Select(f => f.Members.Count).ToArray());
            CollectionAssert.AreEqual(fitted.Transform(data).GetColumn<float>("Score").ToArray(), loaded.Transform(data).GetColumn<float>("Score").ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
