using MLNet.Explain.Lime;

namespace MLNet.Explain.Tests.Lime;

[TestClass]
public sealed class FeatureSelectionTests
{
    // scikit-learn's lars_path(method='lasso') on the weighted, centered diabetes data, and Python lime's choice of
    // features for k = 1..10 (see reference/lars_reference.py). The path drops features twice (5, then 6).
    private static readonly double[][] ReferencePath =
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 4.874690936771741, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 18.18284473137218, 0.0, 0.0, 0.0, 0.0, 0.0, 14.077752481782433, 0.0],
        [0.0, 0.0, 23.07891334956103, 5.518143651140398, 0.0, 0.0, 0.0, 0.0, 19.407165859077367, 0.0],
        [0.0, 0.0, 25.81121590591651, 9.947389669161403, 0.0, 0.0, -4.611902785179414, 0.0, 22.076716467319418, 0.0],
        [0.0, -3.184181364733226, 26.103353989789426, 11.696928836983883, 0.0, 0.0, -6.99855260712771, 0.0, 22.655158451797462, 0.0],
        [0.0, -3.9180756044493155, 26.263662023723956, 12.15837146289144, 0.0, -0.7609280333031856, -7.6019638322697745, 0.0, 22.956336335777927, 0.0],
        [0.0, -4.117053818593743, 26.29002095155336, 12.259855927871119, 0.0, -0.9710993587139961, -7.7556309235472645, 0.0, 23.006736841874005, 0.10552849637411581],
        [0.0, -4.39346627616944, 26.300784893614452, 12.401228222330817, -1.4815463444607022, 0.0, -7.410596794309157, 0.0, 23.667728348122413, 0.2506449319703308],
        [0.0, -7.379725264479424, 26.659995130852025, 13.94046988349152, -5.622389850259287, 0.0, -8.176351817618276, 0.0, 26.14043814893582, 1.890688536632949],
        [0.0, -8.170413340336317, 26.74745562411169, 14.433880373576493, -8.508100494673753, 0.0, -5.84069819043496, 3.3292144894310294, 26.600553075433456, 2.2278096206452536],
        [0.47063673478758883, -9.022340808098765, 26.84341910325683, 14.835304444816774, -11.48361499740898, 0.0, -3.4965516423118608, 6.712200914504471, 27.0277103699355, 2.4908408345682704],
        [0.48202650676062986, -9.228155427305303, 26.71362015075607, 14.955623416011072, -19.726771629205114, 6.581226788570671, 0.0, 7.671002135730043, 30.06861311409054, 2.5280059966411863],
        [0.5318425150767715, -9.407628804605707, 26.616055162536107, 14.995960039006295, -21.53834965843674, 8.465211624319794, 0.0, 7.031008688262086, 30.8866039686875, 2.555652560691111],
        [0.5036497664716761, -9.618890463438326, 26.46719937369496, 15.184046633653905, -35.376243551035905, 19.075557351411835, 6.638135024454563, 9.491267534098107, 35.84170760171805, 2.598563331204858],
    ];
    private static readonly int[][] ReferenceSelection =
    [
        [2],
        [2, 8],
        [2, 3, 8],
        [2, 3, 6, 8],
        [1, 2, 3, 6, 8],
        [1, 2, 3, 5, 6, 8],
        [1, 2, 3, 4, 6, 8, 9],
        [1, 2, 3, 4, 6, 7, 8, 9],
        [0, 1, 2, 3, 4, 5, 7, 8, 9],
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    ];

    [TestMethod]
    public void LassoPathMatchesScikitLearnIncludingDrops()
    {
        var problem = DiabetesProblem();
        var path = FeatureSelection.LarsLasso(problem.Gram, problem.Cross, problem.ColumnCount);
        Assert.HasCount(ReferencePath.Length, path);
        for (int i = 0; i < path.Count; i++)
            for (int j = 0; j < 10; j++)
                Assert.AreEqual(ReferencePath[i][j], path[i][j], 1e-7 * (1 + Math.Abs(ReferencePath[i][j])), $"breakpoint {i}, feature {j}");
        for (int k = 1; k <= 10; k++)
            CollectionAssert.AreEquivalent(ReferenceSelection[k - 1],
                FeatureSelection.Select(LimeFeatureSelection.LassoPath, problem, new double[10], k), $"{k} features");
    }

    [TestMethod]
    public void ForwardSelectionAddsTheMostExplainingFeatureFirst()
    {
        // y = 3·x2 + 1.5·x0 + 0.1·x3: forward selection picks x2, then x0, then x3.
        var (design, targets, weights) = Synthetic(rows: 200, columns: 5, row => 3 * row[2] + 1.5 * row[0] + 0.1 * row[3]);
        var problem = WeightedLeastSquares.Prepare(design, 5, targets, weights);
        CollectionAssert.AreEqual(new[] { 2, 0, 3 }, FeatureSelection.Select(LimeFeatureSelection.Forward, problem, design.AsSpan(0, 5), 3));
        CollectionAssert.AreEqual(new[] { 2, 0 }, FeatureSelection.Select(LimeFeatureSelection.Auto, problem, design.AsSpan(0, 5), 2), "auto: forward up to 6");
    }

    [TestMethod]
    public void HighestWeightsRanksCoefficientTimesInstanceValue()
    {
        var (design, targets, weights) = Synthetic(rows: 200, columns: 8, row => 3 * row[2] + 1.5 * row[0] - 2 * row[5]);
        var problem = WeightedLeastSquares.Prepare(design, 8, targets, weights);
        double[] ones = [1, 1, 1, 1, 1, 1, 1, 1];
        CollectionAssert.AreEqual(new[] { 2, 5 }, FeatureSelection.Select(LimeFeatureSelection.HighestWeights, problem, ones, 2));
        double[] instance = [4, 1, 1, 1, 1, 1, 1, 1];
        CollectionAssert.AreEqual(new[] { 0, 2 }, FeatureSelection.Select(LimeFeatureSelection.HighestWeights, problem, instance, 2), "1.5 x 4 outranks 3 x 1");
        Assert.HasCount(7, FeatureSelection.Select(LimeFeatureSelection.Auto, problem, ones, 7), "auto: highest weights above 6");
        Assert.HasCount(8, FeatureSelection.Select(LimeFeatureSelection.None, problem, ones, 2));
    }

    private static WeightedLeastSquares DiabetesProblem()
    {
        var rows = File.ReadLines(TestData.PathOf("diabetes.csv")).Skip(1)
            .Select(line => line.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())
            .ToArray();
        int n = rows.Length, p = 10;
        var design = new double[n * p];
        for (int j = 0; j < p; j++)
        {
            double mean = rows.Average(r => r[j]);
            double std = Math.Sqrt(rows.Average(r => (r[j] - mean) * (r[j] - mean)));
            for (int i = 0; i < n; i++) design[i * p + j] = (rows[i][j] - mean) / std;
        }
        var weights = Enumerable.Range(0, n).Select(i => 0.2 + 0.8 * (37 * i % 100) / 100.0).ToArray();
        return WeightedLeastSquares.Prepare(design, p, rows.Select(r => r[p]).ToArray(), weights);
    }

    private static (double[] Design, double[] Targets, double[] Weights) Synthetic(int rows, int columns, Func<double[], double> target)
    {
        var random = RowRandom.For(11, [(float)columns]);
        var design = new double[rows * columns];
        var targets = new double[rows];
        for (int i = 0; i < rows; i++)
        {
            var row = Enumerable.Range(0, columns).Select(_ => random.NextGaussian()).ToArray();
            row.CopyTo(design, i * columns);
            targets[i] = target(row) + 0.01 * random.NextGaussian();
        }
        return (design, targets, Enumerable.Range(0, rows).Select(i => 0.5 + random.NextDouble()).ToArray());
    }
}
