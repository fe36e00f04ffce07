using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MLNet.Explain.Shap;
using static MLNet.Explain.Tests.Shap.ShapTestData;

namespace MLNet.Explain.Tests.Shap;

/// <summary>
/// TreeSHAP against brute-force Shapley values (all 2^M coalitions of the same game) on models with at most 10
/// players, and the documented handling of NaN features and categorical splits.
/// </summary>
[TestClass]
public sealed class TreeShapExactnessTests
{
    private static List<float[]> FeatureRows(ITransformer model, IDataView data)
        => model.Transform(data).GetColumn<float[]>("Features").ToList();

    private static double[] Explain(ShapAlgorithm method, float[] row, int output = 0)
    {
        var values = new double[method.OutputCount * method.FeatureCount];
        var explained = new double[method.OutputCount];
        method.Explain([row], [output], values, explained);
        return values.Skip(output * method.FeatureCount).Take(method.FeatureCount).ToArray();
    }

    private static RegressionTreeEnsemble TreesOf(ITransformer model)
    {
        var predictor = ((IEnumerable<ITransformer>)model).OfType<ISingleFeaturePredictionTransformer<object>>().Last();
        return ((TreeEnsembleModelParametersBasedOnRegressionTree)PredictorOutputs.Uncalibrated(predictor.Model).Model).TrainedTreeEnsemble;
    }

    [TestMethod]
    public void PathDependentTreeShapEqualsBruteForceShapleyValuesWithCovers()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 8, numberOfLeaves: 10));
        var shap = ml.Explain().Shap().Fit(model, split.Train);
        var method = (PathDependentTreeShap)shap.State.Method;
        Assert.IsTrue(method.TabulatedLeaves.Tabulated > 0, "some leaves use the precomputed tables");

        var trees = TreesOf(model).Trees;
        var train = FeatureRows(model, split.Train);
        var covers = trees.Select(t => BruteForceShapley.Covers(t, train)).ToArray();
        foreach (var row in FeatureRows(model, split.Test).Take(6))
        {
            var expected = BruteForceShapley.Values(10, coalition =>
                trees.Select((tree, t) => BruteForceShapley.PathDependent(tree, covers[t], row, coalition, node => tree.NumericalSplitFeatureIndexes[node])).Sum());
            var actual = Explain(method, row);
            for (int i = 0; i < 10; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-5, $"feature {split.Features[i]}");
        }

        // The base value is v(∅): the mean prediction over the data the covers were counted on.
        var meanScore = model.Transform(split.Train).GetColumn<float>("Score").Average(s => (double)s);
        Assert.AreEqual(meanScore, shap.BaseValues[0], 1e-4 * Math.Abs(meanScore));
    }

    [TestMethod]
    public void TreesOfOver64NodesAndUntabulatedLeavesGiveTheTabulatedValues()
    {
        // 100 leaves: node directions take two 64-bit words per row. Forcing every leaf through the per-row O(d²) path
        // must give the same values as the tables (sibling pairs merged), and both must add up to the score.
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 5, numberOfLeaves: 100, minimumExampleCountPerLeaf: 2));
        var shap = ml.Explain().Shap().Fit(model, split.Train);
        var tabulated = (PathDependentTreeShap)shap.State.Method;
        Assert.IsTrue(tabulated.Ensemble.Outputs[0].Any(tree => tree.NodeCount > 64), "some tree has more than 64 nodes");
        Assert.AreEqual(tabulated.TabulatedLeaves.Total, tabulated.TabulatedLeaves.Tabulated, "every leaf of these trees fits the tables");
        var perRow = new PathDependentTreeShap(tabulated.Ensemble, tabulated.Covers, maxTabulatedDepth: -1);
        Assert.AreEqual(0, perRow.TabulatedLeaves.Tabulated);

        var rows = Rows(shap, split.Test);
        for (int r = 0; r < rows.Count; r++)
        {
            var expected = Explain(perRow, rows[r].Features);
            var actual = Explain(tabulated, rows[r].Features);
            for (int slot = 0; slot < expected.Length; slot++)
                Assert.AreEqual(expected[slot], actual[slot], 1e-9 * Math.Max(1, Math.Abs(expected[slot])), $"row {r}, slot {slot}");
            AssertAdditive(rows[r].Score, rows[r].Base + expected.Sum(), $"row {r}, per-row path");
        }
    }

    [TestMethod]
    public void DeepPathsComputedPerRowEqualTabulatedOnes()
    {
        // The per-row O(d²) computation and the table lookup are the same function of the hot set.
        var zero = new[] { 0.3, 0.9, 0.5, 0.25, 0.7 };
        var weights = PathDependentTreeShap.ShapleyWeights(5)[5];
        var direct = new double[5];
        var polynomial = new double[6];
        for (int mask = 0; mask < 32; mask++)
        {
            var hot = Enumerable.Range(0, 5).Select(j => (mask >> j & 1) == 1).ToArray();
            PathDependentTreeShap.LeafContributions(zero, hot, 2.0, weights, direct, polynomial);
            var expected = BruteForceShapley.Values(5, coalition =>
                2.0 * Enumerable.Range(0, 5).Aggregate(1.0, (p, j) => p * ((coalition >> j & 1) == 1 ? (hot[j] ? 1 : 0) : zero[j])));
            for (int j = 0; j < 5; j++)
                Assert.AreEqual(expected[j], direct[j], 1e-12, $"hot set {mask}, feature {j}");
        }
    }

    [TestMethod]
    public void InterventionalTreeShapEqualsBruteForceShapleyValuesOverTheBackground()
    {
        var ml = new MLContext(seed: 1);
        var split = Diabetes(ml);
        var model = Fit(ml, split, ml.Regression.Trainers.FastTree(split.Label, numberOfTrees: 8, numberOfLeaves: 10));
        var background = ml.Data.TakeRows(split.Train, 7);
        var shap = ml.Explain().Shap(new ShapOptions { TreePerturbation = TreeShapPerturbation.Interventional, BackgroundData = background })
            .Fit(model, split.Train);
        var method = (InterventionalTreeShap)shap.State.Method;
        var backgroundRows = FeatureRows(model, background);
        Assert.AreEqual(7, method.Background.Count, "a background smaller than the limit is kept whole");

        var trees = TreesOf(model).Trees;
        double Model(float[] x) => trees.Sum(t => t.LeafValues[BruteForceShapley.Leaf(t, x)]);
        foreach (var row in FeatureRows(model, split.Test).Take(4))
        {
            // v(S) = mean over the background of the model on x_S combined with b elsewhere.
            var expected = BruteForceShapley.Values(10, coalition => backgroundRows.Average(b =>
                Model(Enumerable.Range(0, 10).Select(j => (coalition >> j & 1) == 1 ? row[j] : b[j]).ToArray())));
            var actual = Explain(method, row);
            for (int i = 0; i < 10; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-5, $"feature {split.Features[i]}");
        }
    }

    [TestMethod]
    public void CategoricalSplitsOnSeveralSlotsMakeTheirBlockOnePlayerWhoseValueSitsOnThePresentCategory()
    {
        var ml = new MLContext(seed: 1);
        var (data, numeric) = DiabetesWithCategories(ml, missingShare: 0);
        var pipeline = ml.Transforms.Categorical.OneHotEncoding("Band", "BmiBand")
            .Append(ml.Transforms.Categorical.OneHotEncoding("Gender", "SexCode"))
            .Append(ml.Transforms.Concatenate("Features", "Numeric", "Band", "Gender"));
        var model = pipeline.Append(ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
        {
            NumberOfIterations = 20, NumberOfLeaves = 8, UseCategoricalSplit = true, MinimumExampleCountPerLeaf = 5,
        })).Fit(data);
        var trees = TreesOf(model).Trees;
        var shap = ml.Explain().Shap().Fit(model, data);
        var rows = Rows(shap, data);
        int slots = rows[0].Features.Length, genderStart = slots - 2;
        var blocks = new[] { (Start: numeric, End: genderStart - 1), (Start: genderStart, End: slots - 1) };
        var multiSlotSplits = trees.SelectMany(t => Enumerable.Range(0, t.NumberOfNodes)
            .Where(n => t.CategoricalSplitFlags[n] && t.GetCategoricalSplitFeaturesAt(n).Count > 1)
            .Select(n => t.GetCategoricalSplitFeaturesAt(n)[0])).ToList();
        var grouped = blocks.Where(b => multiSlotSplits.Any(s => b.Start <= s && s <= b.End)).ToList();
        Assert.IsTrue(grouped.Contains(blocks[0]), "the BMI band is split on sets of categories");

        // Players: each numeric slot, each grouped block, each slot of a block that is not grouped.
        var playerOfSlot = new int[slots];
        int players = 0;
        for (int slot = 0; slot < slots; slot++)
        {
            var block = grouped.FirstOrDefault(b => b.Start <= slot && slot <= b.End);
            playerOfSlot[slot] = block != default && slot > block.Start ? playerOfSlot[block.Start] : players++;
        }
        Assert.IsTrue(players <= 10, $"{players} players");
        int PlayerOfNode(RegressionTreeBase tree, int node)
            => playerOfSlot[tree.CategoricalSplitFlags[node] ? tree.GetCategoricalSplitFeaturesAt(node)[0] : tree.NumericalSplitFeatureIndexes[node]];

        var train = rows.Select(r => r.Features).ToList();
        var covers = trees.Select(t => BruteForceShapley.Covers(t, train)).ToArray();
        var method = (PathDependentTreeShap)shap.State.Method;
        foreach (var row in rows.Take(5))
        {
            AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), "additivity with categorical splits");
            var expected = BruteForceShapley.Values(players, coalition => trees.Select((tree, t) =>
                BruteForceShapley.PathDependent(tree, covers[t], row.Features, coalition, node => PlayerOfNode(tree, node))).Sum());
            var actual = Explain(method, row.Features);
            for (int slot = 0; slot < slots; slot++)
            {
                var block = grouped.FirstOrDefault(b => b.Start <= slot && slot <= b.End);
                if (block == default)
                {
                    Assert.AreEqual(expected[playerOfSlot[slot]], actual[slot], 1e-5, $"slot {slot}");
                    continue;
                }
                int present = Enumerable.Range(block.Start, block.End - block.Start + 1).First(s => row.Features[s] > 0);
                Assert.AreEqual(slot == present ? expected[playerOfSlot[slot]] : 0.0, actual[slot], 1e-5,
                    slot == present ? $"group value on the present category (slot {slot})" : $"absent category slot {slot}");
            }
        }
    }

    [TestMethod]
    public void NaNFollowsMLNetRouting()
    {
        var ml = new MLContext(seed: 1);
        var (data, _) = DiabetesWithCategories(ml, missingShare: 0.15);
        var features = ml.Transforms.Concatenate("Features", "Numeric");

        // FastTree: NaN fails `x <= threshold`, so it goes right, like +∞.
        var fastTree = features.Append(ml.Regression.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 8)).Fit(data);
        // LightGBM with missing-value handling: each node replaces NaN by its own default before comparing.
        var lightGbm = features.Append(ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
        {
            NumberOfIterations = 10, NumberOfLeaves = 8, HandleMissingValue = true,
        })).Fit(data);

        foreach (var (name, model) in new (string, ITransformer)[] { ("FastTree", fastTree), ("LightGBM", lightGbm) })
            foreach (var perturbation in new[] { TreeShapPerturbation.PathDependent, TreeShapPerturbation.Interventional })
            {
                var shap = ml.Explain().Shap(new ShapOptions { TreePerturbation = perturbation, MaxBackgroundRows = 20 }).Fit(model, data);
                var rows = Rows(shap, data).Where(r => r.Features.Any(float.IsNaN)).ToList();
                Assert.IsTrue(rows.Count > 50, "rows with NaN are explained");
                foreach (var row in rows)
                    AssertAdditive(row.Score, row.Base + row.Values.Sum(v => (double)v), $"{name} {perturbation} on a row with NaN");
            }

        var trees = TreesOf(fastTree).Trees;
        var nanRow = FeatureRows(fastTree, data).First(r => float.IsNaN(r[trees[0].NumericalSplitFeatureIndexes[0]]));
        var infinite = nanRow.Select(v => float.IsNaN(v) ? float.PositiveInfinity : v).ToArray();
        Assert.AreEqual(trees.Sum(t => t.LeafValues[BruteForceShapley.Leaf(t, infinite)]),
            Rows(ml.Explain().Shap().Fit(fastTree, data), data).First(r => r.Features.SequenceEqual(nanRow)).Output, 1e-3,
            "FastTree sends NaN where it sends +∞");
    }

    /// <summary>Diabetes with 7 numeric features (some NaN), and as categories the BMI in bands of 2 and the sex.</summary>
    private static (IDataView Data, int NumericSlots) DiabetesWithCategories(MLContext ml, double missingShare)
    {
        var random = new Random(3);
        var rows = File.ReadLines(TestData.PathOf("diabetes.csv")).Skip(1)
            .Select(line => line.Split(',').Select(float.Parse).ToArray())
            .Select(v => new CategoricalRow
            {
                Numeric = v[3..10].Select(x => random.NextDouble() < missingShare ? float.NaN : x).ToArray(),
                BmiBand = $"bmi{(int)(v[2] / 2)}",
                SexCode = $"sex{v[1]}",
                Label = v[10],
            })
            .ToList();
        return (ml.Data.LoadFromEnumerable(rows), 7);
    }

    private sealed class CategoricalRow
    {
        [VectorType(7)] public float[] Numeric { get; set; } = [];
        public string BmiBand { get; set; } = "";
        public string SexCode { get; set; } = "";
        public float Label { get; set; }
    }
}
