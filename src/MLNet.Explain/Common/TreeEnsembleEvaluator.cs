using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers.FastTree;

namespace MLNet.Explain;

/// <summary>
/// A tree-ensemble predictor (FastTree, FastForest, LightGBM) flattened into arrays so explanations can evaluate single
/// trees directly: much faster than scoring through ML.NET, and the way to re-evaluate only the trees a perturbed
/// feature can change. The raw score is <c>bias + Σ weight·leaf</c>, summed in double in tree order as ML.NET does.
/// </summary>
/// <remarks>
/// Only numerical splits are supported (a split goes left when <c>value &lt;= threshold</c>, so NaN goes right, as in
/// FastTree). Callers must check <see cref="MatchesPredictor"/> before relying on it: it compares against ML.NET's own
/// scores, which catches ensembles whose score is not this plain sum (e.g. FastForest's averaging).
/// </remarks>
internal sealed class TreeEnsembleEvaluator
{
    private readonly int[] _roots;
    private readonly Node[] _nodes;
    private readonly double[] _leafValue;
    private readonly int[][] _featuresOfTree;

    private TreeEnsembleEvaluator(IReadOnlyList<RegressionTreeBase> trees, IReadOnlyList<double> weights, double bias, bool handlesMissingValues)
    {
        Bias = bias;
        HandlesMissingValues = handlesMissingValues;
        int nodes = trees.Sum(t => t.NumberOfNodes), leaves = trees.Sum(t => t.NumberOfLeaves);
        _roots = new int[trees.Count];
        _nodes = new Node[nodes];
        _leafValue = new double[leaves];
        _featuresOfTree = new int[trees.Count][];
        int nodeOffset = 0, leafOffset = 0;
        for (int t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            // Children: a non-negative value is a node, a negative value ~leaf; both re-based into the global arrays.
            int Rebase(int child) => child >= 0 ? child + nodeOffset : ~(~child + leafOffset);
            _roots[t] = tree.NumberOfNodes == 0 ? ~leafOffset : nodeOffset;
            for (int n = 0; n < tree.NumberOfNodes; n++)
                _nodes[nodeOffset + n] = new Node(tree.NumericalSplitFeatureIndexes[n], tree.NumericalSplitThresholds[n], Rebase(tree.LeftChild[n]), Rebase(tree.RightChild[n]));
            for (int l = 0; l < tree.NumberOfLeaves; l++)
                _leafValue[leafOffset + l] = tree.LeafValues[l] * weights[t];
            _featuresOfTree[t] = tree.NumericalSplitFeatureIndexes.Distinct().Order().ToArray();
            nodeOffset += tree.NumberOfNodes;
            leafOffset += tree.NumberOfLeaves;
        }
    }

    public int TreeCount => _roots.Length;
    public double Bias { get; }

    /// <summary>False when the trainer may route missing values (NaN) differently from <c>NaN &gt; threshold</c> (LightGBM).</summary>
    public bool HandlesMissingValues { get; }

    /// <summary>The calibrator of a calibrated binary predictor, otherwise null.</summary>
    public ICalibrator? Calibrator { get; private init; }

    /// <summary>The distinct feature slots tree <paramref name="tree"/> splits on, ascending.</summary>
    public IReadOnlyList<int> FeaturesOf(int tree) => _featuresOfTree[tree];

    /// <summary>Reads the ensemble of a single-output tree predictor, or returns null when the predictor is something else.</summary>
    public static TreeEnsembleEvaluator? TryCreate(ModelParts parts)
    {
        if (parts.Kind is not (PredictionKind.BinaryClassification or PredictionKind.Regression or PredictionKind.Ranking))
            return null;
        object model = parts.Predictor.Model;
        ICalibrator? calibrator = null;
        if (model is CalibratedModelParametersBase calibrated)
        {
            model = calibrated.SubModel;
            calibrator = calibrated.Calibrator;
        }
        var (trees, weights, bias) = model switch
        {
            TreeEnsembleModelParametersBasedOnRegressionTree m => ((IReadOnlyList<RegressionTreeBase>)m.TrainedTreeEnsemble.Trees, m.TrainedTreeEnsemble.TreeWeights, m.TrainedTreeEnsemble.Bias),
            TreeEnsembleModelParametersBasedOnQuantileRegressionTree m => (m.TrainedTreeEnsemble.Trees, m.TrainedTreeEnsemble.TreeWeights, m.TrainedTreeEnsemble.Bias),
            _ => (null, null, 0.0),
        };
        if (trees is null || weights is null || trees.Any(t => t.CategoricalSplitFlags.Any(isCategorical => isCategorical)))
            return null;
        bool lightGbm = model.GetType().Namespace?.Contains("LightGbm", StringComparison.Ordinal) == true;
        return new TreeEnsembleEvaluator(trees, weights, bias, handlesMissingValues: !lightGbm) { Calibrator = calibrator };
    }

    /// <summary>The output of tree <paramref name="tree"/> (weighted leaf value) for feature vector <paramref name="x"/>.</summary>
    public double Evaluate(int tree, ReadOnlySpan<float> x)
    {
        int node = _roots[tree];
        while (node >= 0)
        {
            ref readonly var split = ref _nodes[node];
            node = x[split.Feature] <= split.Threshold ? split.Left : split.Right;
        }
        return _leafValue[~node];
    }

    /// <summary>
    /// Like <see cref="Evaluate(int, ReadOnlySpan{float})"/>, also returning the set of slots the decision path tests as a bit mask (bit s for
    /// slot s; only for feature vectors of at most 64 slots): a change to other slots cannot change this tree's output.
    /// </summary>
    public double Evaluate(int tree, ReadOnlySpan<float> x, out ulong pathSlots)
    {
        pathSlots = 0;
        int node = _roots[tree];
        while (node >= 0)
        {
            ref readonly var split = ref _nodes[node];
            pathSlots |= 1UL << split.Feature;
            node = x[split.Feature] <= split.Threshold ? split.Left : split.Right;
        }
        return _leafValue[~node];
    }

    /// <summary>
    /// The output of tree <paramref name="tree"/> for the vector that takes slot <c>s</c> from <paramref name="donor"/>
    /// where <paramref name="fromDonor"/>[s] is set and from <paramref name="row"/> elsewhere, without building it.
    /// </summary>
    public double EvaluateMixed(int tree, ReadOnlySpan<float> row, ReadOnlySpan<float> donor, ReadOnlySpan<bool> fromDonor)
    {
        int node = _roots[tree];
        while (node >= 0)
        {
            ref readonly var split = ref _nodes[node];
            float value = fromDonor[split.Feature] ? donor[split.Feature] : row[split.Feature];
            node = value <= split.Threshold ? split.Left : split.Right;
        }
        return _leafValue[~node];
    }

    /// <summary>The raw score of <paramref name="x"/>, computed like ML.NET (double sum in tree order, then float).</summary>
    public float Score(ReadOnlySpan<float> x)
    {
        double sum = 0;
        for (int t = 0; t < _roots.Length; t++)
            sum += Evaluate(t, x);
        return (float)(sum + Bias);
    }

    /// <summary>True when this evaluator reproduces the predictor's scores exactly on the rows of <paramref name="features"/>.</summary>
    public bool MatchesPredictor(FeatureScorer predictor, ReadOnlyMemory<float> features)
    {
        int width = predictor.FeatureCount, rows = features.Length / width;
        if (predictor.OutputCount != 1) return false;
        var expected = new float[rows];
        predictor.Score(features, expected);
        for (int r = 0; r < rows; r++)
        {
            var x = features.Span.Slice(r * width, width);
            if (!HandlesMissingValues && HasNaN(x)) return false;
            if (Score(x) != expected[r]) return false;
        }
        return true;

        static bool HasNaN(ReadOnlySpan<float> x)
        {
            foreach (var v in x)
                if (float.IsNaN(v)) return true;
            return false;
        }
    }

    /// <summary>A split: go to <see cref="Left"/> when the slot's value is at most the threshold (children: node, or ~leaf).</summary>
    private readonly record struct Node(int Feature, float Threshold, int Left, int Right);
}
