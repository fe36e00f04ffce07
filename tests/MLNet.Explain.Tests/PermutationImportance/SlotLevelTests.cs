using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.PermutationImportance;

[TestClass]
public sealed class SlotLevelTests
{
    [TestMethod]
    public void AgreesWithMLNetPermutationFeatureImportanceOnBreastCancer()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, features) = TestData.BreastCancerFastTree(ml, trees: 50);
        const int repeats = 10;

        var ours = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Repeats = repeats, Seed = 7 })
            .Fit(model, data).Result;
        var predictor = (ISingleFeaturePredictionTransformer<object>)((IEnumerable<ITransformer>)model).Last();
        var theirs = ml.BinaryClassification.PermutationFeatureImportance(predictor, model.Transform(data), "Malignant", permutationCount: repeats);

        Assert.AreEqual("AreaUnderRocCurve", ours.Metric);
        Assert.AreEqual(30, ours.Features.Count);
        // ML.NET reports permuted − baseline; our importance is baseline − permuted.
        var reference = features.Select((f, i) => (f, i))
            .ToDictionary(p => p.f, p => (Mean: -theirs[p.i].AreaUnderRocCurve.Mean, StdErr: theirs[p.i].AreaUnderRocCurve.StandardError));
        var ourTop = ours.Features.Take(5).Select(f => f.Name).ToHashSet();
        var theirTop = reference.OrderByDescending(p => p.Value.Mean).Take(5).Select(p => p.Key).ToHashSet();
        Assert.IsTrue(ourTop.SetEquals(theirTop), $"top 5: ours {string.Join(", ", ourTop)}; ML.NET {string.Join(", ", theirTop)}");
        foreach (var feature in ours.Features)
        {
            var other = reference[feature.Name];
            double tolerance = 3 * Math.Sqrt(feature.StdErr * feature.StdErr + other.StdErr * other.StdErr);
            Assert.IsTrue(Math.Abs(feature.Mean - other.Mean) <= tolerance + 1e-12,
                $"{feature.Name}: ours {feature.Mean:G4} ± {feature.StdErr:G2}, ML.NET {other.Mean:G4} ± {other.StdErr:G2}");
        }
    }

    [TestMethod]
    public void FeaturesTheLabelDependsOnRankFirstAndTheRestHaveCIsContainingZero()
    {
        var ml = new MLContext(seed: 1);
        var (train, test) = (Synthetic.Regression(ml, 3000, seed: 1), Synthetic.Regression(ml, 1000, seed: 2));
        // Small trees with large leaves split only on X0..X2 here, so the noise features have no effect at all.
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 4, minimumExampleCountPerLeaf: 100).Fit(train);

        var result = ml.Explain().PermutationImportance(new() { Seed = 3 }).Fit(model, test).Result;

        CollectionAssert.AreEqual(new[] { "X0", "X1", "X2" }, result.Features.Take(3).Select(f => f.Name).ToArray(),
            string.Join("; ", result.Features));
        foreach (var noise in result.Features.Skip(3))
            Assert.IsTrue(noise.Ci95Low <= 0 && 0 <= noise.Ci95High, $"{noise.Name}: CI [{noise.Ci95Low}, {noise.Ci95High}]");
        Assert.IsTrue(result.Features[2].Ci95Low > 0, "an important feature's CI excludes 0");
    }

    [TestMethod]
    public void LinearModelTakesThePredictorPathWithTheSameKnownAnswer()
    {
        var ml = new MLContext(seed: 1);
        var data = Synthetic.Binary(ml, 2000, seed: 4);
        // Strong L1 regularization gives the noise features a weight of exactly 0.
        var model = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(l1Regularization: 20).Fit(data);
        CollectionAssert.AreEqual(new float[6], model.Model.SubModel.Weights.Skip(2).ToArray());

        var result = ml.Explain().PermutationImportance(new() { Seed = 5, Metric = "LogLoss" }).Fit(model, data).Result;

        Assert.AreEqual("LogLoss", result.Metric);
        Assert.IsFalse(result.HigherIsBetter);
        CollectionAssert.AreEquivalent(new[] { "X0", "X1" }, result.Features.Take(2).Select(f => f.Name).ToArray(), string.Join("; ", result.Features));
        Assert.IsTrue(result.Features[1].Mean > 0.05, "losing an informative feature raises the log-loss: positive importance");
        foreach (var noise in result.Features.Skip(2))
            Assert.IsTrue(noise.Ci95Low <= 0 && 0 <= noise.Ci95High, $"{noise.Name}: CI [{noise.Ci95Low}, {noise.Ci95High}]");
    }

    [TestMethod]
    public void TreePathScoresExactlyLikeThePredictor()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        AssertTreePathMatchesPredictor(model, data);
    }

    [TestMethod]
    public void TreePathScoresExactlyLikeThePredictorBeyond64Slots()
    {
        // Over 64 slots the per-path slot masks are not kept: the affected-trees path runs instead.
        var ml = new MLContext(seed: 1);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 400).Select(_ =>
        {
            var x = Enumerable.Range(0, 70).Select(_ => (float)random.NextDouble()).ToArray();
            return new WideRow { Features = x, Label = x[0] + x[40] + x[69] > 1.5 };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5).Fit(data);
        AssertTreePathMatchesPredictor(model, data);
    }

    [TestMethod]
    public void TreePathScoresLightGbmWithMissingValuesExactlyLikeThePredictor()
    {
        // LightGBM routes NaN by per-node defaults, unlike FastTree's "NaN goes right".
        var ml = new MLContext(seed: 1);
        var random = new Random(4);
        var rows = Enumerable.Range(0, 600).Select(_ =>
        {
            var x = Enumerable.Range(0, Synthetic.FeatureCount).Select(_ => random.NextDouble() < 0.2 ? float.NaN : (float)random.NextDouble()).ToArray();
            return new Synthetic.BinaryRow { Features = x, Label = (float.IsNaN(x[0]) ? 0.7f : x[0]) + (float.IsNaN(x[1]) ? 0.2f : x[1]) > 1 };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.BinaryClassification.Trainers.LightGbm(numberOfLeaves: 8, numberOfIterations: 20, minimumExampleCountPerLeaf: 5).Fit(data);
        AssertTreePathMatchesPredictor(model, data);
    }

    private static void AssertTreePathMatchesPredictor(ITransformer model, IDataView data)
    {
        var parts = ModelParts.Of(model, data.Schema);
        var matrix = parts.Featurizer.Transform(data).GetColumn<float[]>("Features").SelectMany(v => v).ToArray();
        var trees = TreeEnsembleEvaluator.TryCreate(parts)!;
        var used = Enumerable.Range(0, trees.TreeCount).SelectMany(trees.FeaturesOf).Distinct().Order().ToArray();
        var slots = new[] { new[] { used[0] }, new[] { used[^1] }, used[1..3] };
        var predictor = new FeatureScorer(parts);
        var fast = TreeSlotScorer.TryCreate(parts, predictor, matrix, slots, new ParallelOptions());
        Assert.IsNotNull(fast, "FastTree takes the tree path");
        var reference = new PredictorSlotScorer(predictor, matrix, slots);

        CollectionAssert.AreEqual(reference.BaselineScores.ToArray(), fast.BaselineScores.ToArray());
        for (int feature = 0; feature < slots.Length; feature++)
        {
            var permutation = Permutations.For(11, $"f{feature}", 0, fast.RowCount);
            var expected = new float[fast.RowCount];
            var actual = new float[fast.RowCount];
            reference.ScorePermuted(feature, permutation, expected, CancellationToken.None);
            fast.ScorePermuted(feature, permutation, actual, CancellationToken.None);
            CollectionAssert.AreEqual(expected, actual, $"feature {feature}");
            CollectionAssert.AreNotEqual(reference.BaselineScores.ToArray(), actual, "the permutation changed something");
        }
    }

    private sealed class WideRow
    {
        [VectorType(70)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    [TestMethod]
    public void SameSeedGivesIdenticalResultsAtEveryDegreeOfParallelism()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var linear = ml.BinaryClassification.Trainers.LbfgsLogisticRegression().Fit(Synthetic.Binary(ml, 500, seed: 1));
        var linearData = Synthetic.Binary(ml, 500, seed: 2);

        foreach (var (m, d, label) in new[] { (model, data, "Malignant"), ((ITransformer)linear, linearData, "Label") })
        {
            double[][] Run(int parallelism) => ml.Explain()
                .PermutationImportance(new() { LabelColumnName = label, Seed = 42, Repeats = 3, MaxDegreeOfParallelism = parallelism })
                .Fit(m, d).Result.Features.Select(f => f.Values.ToArray()).ToArray();
            var sequential = Run(1);
            foreach (var parallelism in new[] { 2, 3, -1 })
            {
                var parallel = Run(parallelism);
                for (int f = 0; f < sequential.Length; f++)
                    CollectionAssert.AreEqual(sequential[f], parallel[f], $"parallelism {parallelism}, feature {f}");
            }
        }
    }

    [TestMethod]
    public void ContextSeedMakesRunsRepeatableAndDifferentSeedsDiffer()
    {
        PermutationImportanceResult Run(int contextSeed)
        {
            var ml = new MLContext(seed: contextSeed);
            var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
            return ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Repeats = 2 }).Fit(model, data).Result;
        }
        var a = Run(1);
        var b = Run(1);
        var c = Run(2);
        Assert.AreEqual(a.Seed, b.Seed);
        CollectionAssert.AreEqual(a.Features.SelectMany(f => f.Values).ToArray(), b.Features.SelectMany(f => f.Values).ToArray());
        Assert.AreNotEqual(a.Seed, c.Seed);
    }

    [TestMethod]
    public void PipelineStageFitsModelThenImportancesAndPassesPredictionsThrough()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var pipeline = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 10))
            .Append(ml.Explain().PermutationImportance(new() { LabelColumnName = label, Repeats = 2, Seed = 1 }));

        PermutationImportanceTransformer fitted = pipeline.Fit(data);

        Assert.AreEqual(30, fitted.Importances.Count);
        Assert.AreSame(fitted.Result.Features, fitted.Importances);
        Assert.IsTrue(fitted.Importances[0].Mean > 0);
        var output = fitted.Transform(data);
        var modelOutput = fitted.Model.Transform(data);
        CollectionAssert.AreEqual(modelOutput.Schema.Select(c => c.Name).ToArray(), output.Schema.Select(c => c.Name).ToArray(), "no columns added");
        CollectionAssert.AreEqual(modelOutput.GetColumn<float>("Score").ToArray(), output.GetColumn<float>("Score").ToArray());
    }

    [TestMethod]
    public void EvaluationDataOptionIsUsedInsteadOfTrainingData()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.3, seed: 1);
        var pipeline = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 10))
            .Append(ml.Explain().PermutationImportance(new() { LabelColumnName = label, Repeats = 1, EvaluationData = split.TestSet }));

        var fitted = pipeline.Fit(split.TrainSet);

        Assert.AreEqual(split.TestSet.GetColumn<bool>(label).Count(), fitted.Result.RowCount);
    }

    [TestMethod]
    public void MaxRowsSamplesRowsAndProgressCountsEveryPermutation()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        var reports = new ConcurrentBag<PermutationImportanceProgress>();
        var result = ml.Explain().PermutationImportance(new()
        {
            LabelColumnName = "Malignant", Repeats = 2, MaxRows = 100, Seed = 1, Progress = new SynchronousProgress(reports.Add),
        }).Fit(model, data).Result;

        Assert.AreEqual(100, result.RowCount);
        Assert.AreEqual(60, reports.Count);
        CollectionAssert.AreEquivalent(Enumerable.Range(1, 60).ToArray(), reports.Select(r => r.Completed).ToArray());
        Assert.IsTrue(reports.All(r => r.Total == 60));
    }

    [TestMethod]
    public void CancellationStopsTheRun()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 5);
        using var cancellation = new CancellationTokenSource();
        int reports = 0;
        var stage = ml.Explain().PermutationImportance(new()
        {
            LabelColumnName = "Malignant", CancellationToken = cancellation.Token, MaxDegreeOfParallelism = 1,
            Progress = new SynchronousProgress(_ => { if (Interlocked.Increment(ref reports) == 3) cancellation.Cancel(); }),
        });
        Assert.ThrowsExactly<OperationCanceledException>(() => stage.Fit(model, data));
        Assert.IsTrue(reports < 150, $"stopped after {reports} of 150 permutations");
    }

    [TestMethod]
    public void MulticlassModelRanksPetalMeasurementsFirstOnIris()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.Load(ml, "iris.csv", DataKind.String);
        var model = ml.Transforms.Conversion.MapValueToKey(label)
            .Append(ml.Transforms.Concatenate("Features", features))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(label))
            .Fit(data);

        var result = ml.Explain().PermutationImportance(new() { LabelColumnName = label, Seed = 1 }).Fit(model, data).Result;

        Assert.AreEqual("MicroAccuracy", result.Metric);
        CollectionAssert.AreEquivalent(new[] { "PetalLength", "PetalWidth" }, result.Features.Take(2).Select(f => f.Name).ToArray(), string.Join("; ", result.Features));
        Assert.IsTrue(result.Features[0].Mean > 0.1);
    }

    [TestMethod]
    public void UserGroupsOfSlotsArePermutedTogether()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml);
        var groups = new Dictionary<string, string[]>
        {
            ["Worst"] = ["WorstRadius", "WorstPerimeter", "WorstArea", "WorstConcavePoints"],
            ["Texture"] = ["MeanTexture", "WorstTexture"],
        };
        var result = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Groups = groups, Seed = 1 }).Fit(model, data).Result;

        CollectionAssert.AreEqual(new[] { "Worst", "Texture" }, result.Features.Select(f => f.Name).ToArray());
        CollectionAssert.AreEqual(groups["Worst"], result["Worst"].Members.ToArray());
        var single = ml.Explain().PermutationImportance(new() { LabelColumnName = "Malignant", Seed = 1 }).Fit(model, data).Result;
        Assert.IsTrue(result["Worst"].Mean > single.Features[0].Mean, "permuting the group together hurts more than any single slot");
    }

    private sealed class SynchronousProgress(Action<PermutationImportanceProgress> report) : IProgress<PermutationImportanceProgress>
    {
        public void Report(PermutationImportanceProgress value) => report(value);
    }
}

/// <summary>Synthetic data with a known answer: the label depends on X0, X1, X2 only; X3..X7 are noise.</summary>
internal static class Synthetic
{
    public const int FeatureCount = 8;

    public sealed class Row
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    public sealed class BinaryRow
    {
        [VectorType(FeatureCount)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private static float[] Features(Random random) => Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    private static SchemaDefinition Named<T>()
    {
        var schema = SchemaDefinition.Create(typeof(T));
        var names = Enumerable.Range(0, FeatureCount).Select(i => $"X{i}".AsMemory()).ToArray();
        var column = schema["Features"];
        column.AddAnnotation("SlotNames", new VBuffer<ReadOnlyMemory<char>>(FeatureCount, names), new VectorDataViewType(TextDataViewType.Instance, FeatureCount));
        return schema;
    }

    /// <summary>Label = 4·X0 + 2·X1 + X2 + small noise.</summary>
    public static IDataView Regression(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        var data = Enumerable.Range(0, rows).Select(_ => Features(random))
            .Select(x => new Row { Features = x, Label = 4 * x[0] + 2 * x[1] + x[2] + (float)(0.05 * (random.NextDouble() - 0.5)) })
            .ToList();
        return ml.Data.LoadFromEnumerable(data, Named<Row>());
    }

    /// <summary>Label = (2·X0 − 2·X1 + logistic noise > 0).</summary>
    public static IDataView Binary(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        var data = Enumerable.Range(0, rows).Select(_ => Features(random))
            .Select(x =>
            {
                double u = random.NextDouble();
                return new BinaryRow { Features = x, Label = 2 * x[0] - 2 * x[1] + 0.5 * Math.Log(u / (1 - u)) > 0 };
            })
            .ToList();
        return ml.Data.LoadFromEnumerable(data, Named<BinaryRow>());
    }
}
