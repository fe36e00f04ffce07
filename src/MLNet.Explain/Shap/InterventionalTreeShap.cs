namespace MLNet.Explain.Shap;

/// <summary>
/// Exact interventional TreeSHAP (Lundberg et al. 2020, "independent" TreeSHAP): the Shapley values of
/// <c>v(S) = E_b[f(x_S, b_S̄)]</c> over a weighted background, the game Kernel SHAP estimates.
/// </summary>
/// <remarks>
/// For one background row b, <c>f(x_S, b_S̄)</c> reaches a leaf through nodes where x and b agree, or where they
/// disagree and the node's feature is taken from x (it must be in S) or from b (it must not be). A leaf reached with
/// the set A of features taken from x and B from b is the game "A ⊆ S and B ∩ S = ∅", whose Shapley values are
/// <c>(|A|−1)!|B|!/(|A|+|B|)!</c> for each feature of A and <c>−|A|!(|B|−1)!/(|A|+|B|)!</c> for each of B.
/// One traversal per tree and background row finds every reachable leaf: O(T·L·|background|) per row.
/// </remarks>
internal sealed class InterventionalTreeShap : RowShapAlgorithm<InterventionalTreeShap.Scratch>
{
    private readonly FlatTree[][] _outputs;
    /// <summary>Per output, tree and background row: the direction of every node for that row.</summary>
    private readonly bool[][][][] _backgroundLeft;
    private readonly double[] _backgroundShare;
    private readonly double[][] _coalitionWeights;
    private readonly int[][] _playerOfNode;
    private readonly int _maxNodes;

    public InterventionalTreeShap(TreeEnsemble ensemble, Background background)
    {
        Ensemble = ensemble;
        Background = background;
        _outputs = ensemble.Outputs;
        double total = background.TotalWeight;
        _backgroundShare = background.Weights.Select(w => w / total).ToArray();
        _backgroundLeft = _outputs.Select(trees => trees.Select(tree =>
            background.Rows.Select(row => Enumerable.Range(0, tree.NodeCount).Select(n => tree.GoesLeft(n, row)).ToArray()).ToArray()).ToArray()).ToArray();
        _playerOfNode = _outputs.SelectMany(trees => trees)
            .Select(tree => Enumerable.Range(0, tree.NodeCount).Select(n => ensemble.PlayerOfSlot[tree.SlotsOf(n).First()]).ToArray())
            .ToArray();
        _maxNodes = _outputs.SelectMany(t => t).Select(t => t.NodeCount).DefaultIfEmpty(0).Max();
        int maxDepth = _maxNodes + 1;
        _coalitionWeights = CoalitionWeights(maxDepth);
        BaseValues = _outputs.Select(trees =>
            background.Rows.Select((row, b) => _backgroundShare[b] * trees.Sum(t => t.Evaluate(row))).Sum()).ToArray();
    }

    public TreeEnsemble Ensemble { get; }
    public Background Background { get; }
    public override int FeatureCount => Ensemble.FeatureCount;
    public override int OutputCount => _outputs.Length;
    public override IReadOnlyList<double> BaseValues { get; }

    protected override int RowsPerTask => 4;
    public override int BlockSize => 256;

    public const string Name = "TreeShap.Interventional";
    protected override string SavedName => Name;

    protected override void SaveCore(BinaryWriter writer)
    {
        Ensemble.Save(writer);
        Background.Save(writer);
    }

    public static InterventionalTreeShap Load(BinaryReader reader, ModelParts parts)
        => new(TreeEnsemble.Load(reader, parts), Background.Load(reader));

    internal sealed class Scratch(int features, int maxNodes)
    {
        public readonly bool[] GoesLeft = new bool[maxNodes];
        /// <summary>Per player: 0 undecided, 1 taken from x, 2 taken from the background row.</summary>
        public readonly byte[] Source = new byte[features];
        public readonly int[] FromX = new int[maxNodes];
        public readonly int[] FromBackground = new int[maxNodes];
        public int FromXCount, FromBackgroundCount;
    }

    protected override Scratch CreateScratch() => new(FeatureCount, Math.Max(1, _maxNodes));

    protected override void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, Scratch scratch)
    {
        int width = OutputCount * FeatureCount;
        for (int r = from; r < to; r++)
            ExplainRow(rows[r], outputs[r], values.AsSpan(r * width, width), explained.AsSpan(r * OutputCount, OutputCount), scratch);
    }

    private void ExplainRow(ReadOnlySpan<float> features, int output, Span<double> values, Span<double> explained, Scratch scratch)
    {
        int first = output < 0 ? 0 : output, last = output < 0 ? _outputs.Length - 1 : output;
        int treeIndexBase = 0;
        for (int k = 0; k < first; k++) treeIndexBase += _outputs[k].Length;
        for (int k = first; k <= last; k++)
        {
            var phi = values.Slice(k * FeatureCount, FeatureCount);
            double margin = 0;
            var trees = _outputs[k];
            for (int t = 0; t < trees.Length; t++)
            {
                var tree = trees[t];
                margin += tree.Evaluate(features);
                if (tree.NodeCount == 0) continue;
                for (int n = 0; n < tree.NodeCount; n++)
                    scratch.GoesLeft[n] = tree.GoesLeft(n, features);
                var players = _playerOfNode[treeIndexBase + t];
                for (int b = 0; b < _backgroundShare.Length; b++)
                    Visit(tree, players, _backgroundLeft[k][t][b], 0, _backgroundShare[b], phi, scratch);
            }
            treeIndexBase += trees.Length;
            explained[k] = margin;
            Ensemble.MoveGroupValues(features, phi);
        }
    }

    private void Visit(FlatTree tree, int[] players, bool[] backgroundLeft, int node, double share, Span<double> phi, Scratch s)
    {
        while (node >= 0)
        {
            bool xLeft = s.GoesLeft[node], bLeft = backgroundLeft[node];
            if (xLeft == bLeft)
            {
                node = xLeft ? tree.Left[node] : tree.Right[node];
                continue;
            }
            int player = players[node];
            switch (s.Source[player])
            {
                case 1:
                    node = xLeft ? tree.Left[node] : tree.Right[node];
                    continue;
                case 2:
                    node = bLeft ? tree.Left[node] : tree.Right[node];
                    continue;
            }
            s.Source[player] = 1;
            s.FromX[s.FromXCount++] = player;
            Visit(tree, players, backgroundLeft, xLeft ? tree.Left[node] : tree.Right[node], share, phi, s);
            s.FromXCount--;
            s.Source[player] = 2;
            s.FromBackground[s.FromBackgroundCount++] = player;
            Visit(tree, players, backgroundLeft, bLeft ? tree.Left[node] : tree.Right[node], share, phi, s);
            s.FromBackgroundCount--;
            s.Source[player] = 0;
            return;
        }

        int a = s.FromXCount, b = s.FromBackgroundCount;
        if (a + b == 0) return;
        double value = share * tree.LeafValues[~node];
        if (a > 0)
        {
            double gain = value * _coalitionWeights[a - 1][b];
            for (int i = 0; i < a; i++) phi[s.FromX[i]] += gain;
        }
        if (b > 0)
        {
            double loss = value * _coalitionWeights[a][b - 1];
            for (int i = 0; i < b; i++) phi[s.FromBackground[i]] -= loss;
        }
    }

    /// <summary><c>weights[p][q] = p! q! / (p + q + 1)!</c> for p + q &lt; <paramref name="maxDepth"/>.</summary>
    private static double[][] CoalitionWeights(int maxDepth)
    {
        var weights = new double[maxDepth + 1][];
        for (int p = 0; p <= maxDepth; p++)
        {
            weights[p] = new double[maxDepth + 1 - p];
            // p! / (p + 1)! = 1 / (p + 1); each further q multiplies by q / (p + q + 1).
            weights[p][0] = 1.0 / (p + 1);
            for (int q = 1; q < weights[p].Length; q++)
                weights[p][q] = weights[p][q - 1] * q / (p + q + 1);
        }
        return weights;
    }
}
