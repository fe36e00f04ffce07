using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.PermutationImportance;

[TestClass]
public sealed class ColumnLevelTests
{
    [TestMethod]
    public void OneHotColumnImportanceIsThePermutationOfTheWholeColumnNotTheSumOfItsSlots()
    {
        var ml = new MLContext(seed: 1);
        var data = Categorical.Data(ml, 1500, seed: 1);
        var model = Categorical.Pipeline(ml).Fit(data);

        var columns = Fit(ml, model, data, ImportanceLevel.Columns);
        var groups = Fit(ml, model, data, ImportanceLevel.Groups);
        var slots = Fit(ml, model, data, ImportanceLevel.Slots);

        CollectionAssert.AreEquivalent(new[] { "Color", "Size", "Noise" }, columns.Features.Select(f => f.Name).ToArray());
        Assert.AreEqual("Color", columns.Features[0].Name, string.Join("; ", columns.Features));
        CollectionAssert.AreEquivalent(new[] { "Color", "Size", "Noise" }, groups.Features.Select(f => f.Name).ToArray());
        CollectionAssert.AreEquivalent(new[] { "Color.Red", "Color.Green", "Color.Blue", "Color.Yellow" }, groups["Color"].Members.ToArray());

        // Permuting the raw column before one-hot encoding moves the four slots together, exactly like the group.
        for (int r = 0; r < columns.Repeats; r++)
            Assert.AreEqual(columns["Color"].Values[r], groups["Color"].Values[r], 1e-12, $"repeat {r}");
        double sumOfSlots = slots.Features.Where(f => f.Name.StartsWith("Color.", StringComparison.Ordinal)).Sum(f => f.Mean);
        Assert.IsTrue(Math.Abs(sumOfSlots - columns["Color"].Mean) > 0.1 * columns["Color"].Mean,
            $"column {columns["Color"].Mean:G4} vs sum of slots {sumOfSlots:G4}");
    }

    [TestMethod]
    public void ColumnImportanceEqualsTheMetricLossOfTheManuallyPermutedColumnPerMLNetsEvaluator()
    {
        var ml = new MLContext(seed: 1);
        var data = Categorical.Data(ml, 500, seed: 2);
        var model = Categorical.Pipeline(ml).Fit(data);
        var result = ml.Explain().PermutationImportance(new() { Level = ImportanceLevel.Columns, Columns = ["Color"], Repeats = 2, Seed = 9 })
            .Fit(model, data).Result;

        var rows = ml.Data.CreateEnumerable<Categorical.Row>(data, reuseRowObject: false).ToList();
        double baseline = ml.Regression.Evaluate(model.Transform(data)).RSquared;
        for (int repeat = 0; repeat < 2; repeat++)
        {
            var permutation = Permutations.For(9, "Color", repeat, rows.Count);
            var permuted = rows.Select((row, i) => new Categorical.Row { Color = rows[permutation[i]].Color, Size = row.Size, Noise = row.Noise, Label = row.Label });
            double rSquared = ml.Regression.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(permuted))).RSquared;
            // ML.NET's evaluator accumulates in float in places: agreement to 1e-6 on an importance of order 1.
            Assert.AreEqual(baseline - rSquared, result["Color"].Values[repeat], 1e-6, $"repeat {repeat}");
        }
        Assert.AreEqual(baseline, result.Baseline, 1e-6);
    }

    [TestMethod]
    public void DefaultColumnsAreTheModelInputsExceptTheLabel()
    {
        var ml = new MLContext(seed: 1);
        var data = Categorical.Data(ml, 300, seed: 3);
        var model = Categorical.Pipeline(ml).Fit(data);
        var columns = Fit(ml, model, data, ImportanceLevel.Columns);
        CollectionAssert.AreEquivalent(new[] { "Color", "Size", "Noise" }, columns.Features.Select(f => f.Name).ToArray());
        Assert.IsTrue(columns.Features.All(f => f.Members.Count == 1 && f.Members[0] == f.Name));
    }

    [TestMethod]
    public void FreeTextColumnIsPermutedBeforeFeaturization()
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(5);
        string[] good = ["great", "excellent", "lovely"], bad = ["awful", "poor", "broken"], filler = ["the", "item", "was", "really", "quite"];
        var rows = Enumerable.Range(0, 600).Select(_ =>
        {
            bool positive = random.Next(2) == 0;
            var words = filler.OrderBy(_ => random.Next()).Take(3).Append((positive ? good : bad)[random.Next(3)]).OrderBy(_ => random.Next());
            return new TextRow { Review = string.Join(' ', words), Stars = (float)random.NextDouble(), Label = positive };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Text.FeaturizeText("ReviewFeatures", "Review")
            .Append(ml.Transforms.Concatenate("Features", "ReviewFeatures", "Stars"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression())
            .Fit(data);

        var result = ml.Explain().PermutationImportance(new() { Level = ImportanceLevel.Columns, Repeats = 3, Seed = 1 }).Fit(model, data).Result;

        CollectionAssert.AreEqual(new[] { "Review", "Stars" }, result.Features.Select(f => f.Name).ToArray());
        Assert.IsTrue(result["Review"].Mean > 0.3, $"shuffling the reviews destroys the AUC: {result["Review"]}");
        Assert.IsTrue(Math.Abs(result["Stars"].Mean) < 0.05, result["Stars"].ToString());

        var groups = ml.Explain().PermutationImportance(new() { Level = ImportanceLevel.Groups, Repeats = 1, Seed = 1 }).Fit(model, data).Result;
        Assert.AreEqual("ReviewFeatures", groups.Features[0].Name, "text slots group under the featurized column");
    }

    [TestMethod]
    public void UserGroupsOfColumnsArePermutedWithOnePermutation()
    {
        var ml = new MLContext(seed: 1);
        var data = Categorical.Data(ml, 400, seed: 4);
        var model = Categorical.Pipeline(ml).Fit(data);
        var result = ml.Explain().PermutationImportance(new()
        {
            Level = ImportanceLevel.Columns, Seed = 1, Repeats = 2,
            Groups = new Dictionary<string, string[]> { ["Signal"] = ["Color", "Size"], ["Noise"] = ["Noise"] },
        }).Fit(model, data).Result;

        Assert.AreEqual("Signal", result.Features[0].Name);
        CollectionAssert.AreEqual(new[] { "Color", "Size" }, result["Signal"].Members.ToArray());
        var single = Fit(ml, model, data, ImportanceLevel.Columns);
        Assert.IsTrue(result["Signal"].Mean > single["Color"].Mean && result["Signal"].Mean > single["Size"].Mean);
    }

    [TestMethod]
    public void SameSeedGivesIdenticalColumnResultsAtEveryDegreeOfParallelism()
    {
        var ml = new MLContext(seed: 1);
        var data = Categorical.Data(ml, 300, seed: 6);
        var model = Categorical.Pipeline(ml).Fit(data);
        double[] Run(int parallelism) => ml.Explain()
            .PermutationImportance(new() { Level = ImportanceLevel.Columns, Seed = 4, Repeats = 3, MaxDegreeOfParallelism = parallelism })
            .Fit(model, data).Result.Features.SelectMany(f => f.Values).ToArray();
        var sequential = Run(1);
        CollectionAssert.AreEqual(sequential, Run(2));
        CollectionAssert.AreEqual(sequential, Run(-1));
    }

    private static PermutationImportanceResult Fit(MLContext ml, ITransformer model, IDataView data, ImportanceLevel level)
        => ml.Explain().PermutationImportance(new() { Level = level, Seed = 3, Repeats = 4 }).Fit(model, data).Result;

    private sealed class TextRow
    {
        public string Review { get; set; } = "";
        public float Stars { get; set; }
        public bool Label { get; set; }
    }
}

/// <summary>Regression data with a categorical column: Label = effect(Color) + Size + noise, Noise unused.</summary>
internal static class Categorical
{
    public static readonly string[] Colors = ["Red", "Green", "Blue", "Yellow"];
    private static readonly float[] Effects = [3f, 1f, -1f, 0f];

    public sealed class Row
    {
        public string Color { get; set; } = "";
        public float Size { get; set; }
        public float Noise { get; set; }
        public float Label { get; set; }
    }

    public static IDataView Data(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        return ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ =>
        {
            int color = random.Next(Colors.Length);
            float size = (float)random.NextDouble() * 2;
            return new Row
            {
                Color = Colors[color], Size = size, Noise = (float)random.NextDouble(),
                Label = Effects[color] + size + (float)(0.1 * random.NextDouble()),
            };
        }).ToList());
    }

    /// <summary>One-hot Color in place, so its slots are named Color.Red, Color.Green, ... after concatenation.</summary>
    public static IEstimator<ITransformer> Pipeline(MLContext ml)
        => ml.Transforms.Categorical.OneHotEncoding("Color")
            .Append(ml.Transforms.Concatenate("Features", "Color", "Size", "Noise"))
            .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 10));
}
