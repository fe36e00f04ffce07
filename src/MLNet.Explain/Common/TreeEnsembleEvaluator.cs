using MLNet.Explain.Shap;

namespace MLNet.Explain;

/// <summary>
/// A single-output tree ensemble (FastTree, FastForest, LightGBM binary/regression) in one packed node array, for
/// explanations that evaluate many perturbed rows tree by tree: much faster than scoring through ML.NET, and able to
/// re-evaluate only the trees a perturbation can change. The trees are read by SHAP's <see cref="TreeEnsemble"/> (one
/// reader of ML.NET's tree structures); the score is the sum of the trees in tree order, in double, as ML.NET computes it.
/// </summary>
/// <remarks>
/// Numerical splits only (models with categorical splits are not handled here). A split goes left when
/// <c>value &lt;= threshold</c>, after replacing NaN by the node's missing-value default when the trainer set one
/// (LightGBM); otherwise NaN goes right. Callers check <see cref="MatchesPredictor"/> before relying on it.
/// </remarks>
internal sealed class TreeEnsembleEvaluator
{
    private readonly int[] _roots;
    private readonly Node[] _nodes;
    private readonly double[] _leafValue;
    private readonly int[][] _featuresOfTree;

    private TreeEnsembleEvaluator(IReadOnlyList<FlatTree> trees)
    {
        _roots = new int[trees.Count];
        _nodes = new Node[trees.Sum(t => t.NodeCount)];
        _leafValue = new double[trees.Sum(t => t.LeafCount)];
        _featuresOfTree = new int[trees.Count][];
        int nodeOffset = 0, leafOffset = 0;
        for (int t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            // Children: a non-negative value is a node, a negative value ~leaf; both re-based into the packed arrays.
            int Rebase(int child) => child >= 0 ? child + nodeOffset : ~(~child + leafOffset);
            _roots[t] = tree.NodeCount == 0 ? ~leafOffset : nodeOffset;
            for (int n = 0; n < tree.NodeCount; n++)
                _nodes[nodeOffset + n] = new Node(tree.SplitSlot[n], tree.Threshold[n], tree.MissingValue?[n] ?? float.NaN,
                    Rebase(tree.Left[n]), Rebase(tree.Right[n]));
            tree.LeafValues.CopyTo(_leafValue, leafOffset);
            _featuresOfTree[t] = tree.SplitSlot.Distinct().Order().ToArray();
            nodeOffset += tree.NodeCount;
            leafOffset += tree.LeafCount;
        }
    }

    public int TreeCount => _roots.Length;

    /// <summary>The distinct feature slots tree <paramref name="tree"/> splits on, ascending.</summary>
    public IReadOnlyList<int> FeaturesOf(int tree) => _featuresOfTree[tree];

    /// <summary>Reads the ensemble of a single-output tree predictor with numerical splits; null for any other predictor.</summary>
    public static TreeEnsembleEvaluator? TryCreate(ModelParts parts)
    {
        if (TreeEnsemble.TryRead(parts.Predictor.Model, parts.FeatureColumn, out _) is not { Outputs: [var trees], Link.Kind: MarginToScore.Identity }
            || trees.Any(tree => tree.CategoricalSlots.Any(slots => slots is not null)))
            return null;
        return new TreeEnsembleEvaluator(trees);
    }

    /// <summary>The output of tree <paramref name="tree"/> (weighted leaf value) for feature vector <paramref name="x"/>.</summary>
    public double Evaluate(int tree, ReadOnlySpan<float> x)
    {
        int node = _roots[tree];
        while (node >= 0)
        {
            ref readonly var split = ref _nodes[node];
            node = split.GoesLeft(x[split.Feature]) ? split.Left : split.Right;
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
            node = split.GoesLeft(x[split.Feature]) ? split.Left : split.Right;
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
            node = split.GoesLeft(value) ? split.Left : split.Right;
        }
        return _leafValue[~node];
    }

    /// <summary>The raw score of <paramref name="x"/>, computed like ML.NET (double sum in tree order, then float).</summary>
    public float Score(ReadOnlySpan<float> x)
    {
        double sum = 0;
        for (int t = 0; t < _roots.Length; t++)
            sum += Evaluate(t, x);
        return (float)sum;
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
            if (Score(x) != expected[r]) return false;
        }
        return true;
    }

    /// <summary>A split: go to <see cref="Left"/> when the slot's value (NaN replaced by <see cref="Missing"/>) is at most the threshold.</summary>
    private readonly record struct Node(int Feature, float Threshold, float Missing, int Left, int Right)
    {
        public bool GoesLeft(float value) => (float.IsNaN(value) ? Missing : value) <= Threshold;
    }
}
