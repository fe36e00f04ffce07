using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>
/// Exact path-dependent TreeSHAP (Lundberg et al. 2020): the Shapley values of
/// <c>v(S) = E[f(x) | x_S]</c>, where the expectation over an unknown split feature follows the tree's covers.
/// </summary>
/// <remarks>
/// <para>
/// The game is linear in the leaves: <c>v(S) = Σ_leaves value · Π_{j on the leaf's path} (j ∈ S ? o_j : z_j)</c>,
/// where for each distinct feature j on the path <c>o_j</c> is 1 when the row satisfies every split on j along the path
/// and <c>z_j</c> is the product of the cover fractions of those splits. The zero fractions z depend only on the tree,
/// and the row enters only through which path features are "hot" (o = 1). So each leaf's contribution to every
/// feature is a function of the hot set alone, computed in O(d²) from elementary symmetric polynomials of the z
/// (<see cref="LeafContributions"/>). For leaves with short paths that function is tabulated once for all 2^d hot sets
/// (the precomputation of Fast TreeSHAP v2, Yang 2021), so explaining a row costs one table row per leaf: O(L·d) per
/// tree instead of O(L·d²).
/// </para>
/// <para>Values are computed per player (a feature slot, or a categorical one-hot group; see <see cref="TreeEnsemble"/>).</para>
/// </remarks>
internal sealed class PathDependentTreeShap : RowShapAlgorithm<PathDependentTreeShap.Scratch>
{
    /// <summary>Longest path (distinct features) whose contributions are tabulated.</summary>
    public const int MaxTabulatedDepth = 12;

    /// <summary>Table entries (doubles) allowed per model: 128 MB.</summary>
    public const long MaxTableEntries = 16L << 20;

    private readonly CompiledTrees[] _outputs;
    private readonly double[] _table;
    private readonly double[][] _weights;
    private readonly int _maxNodes;
    private readonly int _maxDepth;

    public PathDependentTreeShap(TreeEnsemble ensemble, TreeCovers[][] covers)
    {
        Ensemble = ensemble;
        Covers = covers;
        _outputs = ensemble.Outputs.Select((trees, k) => new CompiledTrees(trees, covers[k], ensemble.PlayerOfSlot)).ToArray();
        _maxNodes = _outputs.Max(o => o.Slot.Length);
        _maxDepth = _outputs.Max(o => o.MaxDepth);
        _weights = ShapleyWeights(_maxDepth);
        BaseValues = _outputs.Select(o => o.BaseValue()).ToArray();
        _table = Tabulate();
    }

    public TreeEnsemble Ensemble { get; }
    public TreeCovers[][] Covers { get; }
    public override int FeatureCount => Ensemble.FeatureCount;
    public override int OutputCount => _outputs.Length;
    public override IReadOnlyList<double> BaseValues { get; }

    /// <summary>Leaves whose contributions are read from the table, out of all leaves (for diagnostics and tests).</summary>
    public (int Tabulated, int Total) TabulatedLeaves
        => (_outputs.Sum(o => o.TableStart.Count(s => s >= 0)), _outputs.Sum(o => o.TableStart.Length));

    protected override int RowsPerTask => 32;

    public const string Name = "TreeShap.PathDependent";
    protected override string SavedName => Name;

    protected override void SaveCore(BinaryWriter writer)
    {
        Ensemble.Save(writer);
        foreach (var trees in Covers)
        {
            writer.Write(trees.Length);
            foreach (var covers in trees)
            {
                writer.WriteDoubles(covers.Nodes);
                writer.WriteDoubles(covers.Leaves);
            }
        }
    }

    public static PathDependentTreeShap Load(BinaryReader reader, ModelParts parts)
    {
        var ensemble = TreeEnsemble.Load(reader, parts);
        var covers = new TreeCovers[ensemble.Outputs.Length][];
        for (int k = 0; k < covers.Length; k++)
        {
            covers[k] = new TreeCovers[reader.ReadInt32()];
            if (covers[k].Length != ensemble.Outputs[k].Length)
                throw new InvalidDataException($"The saved SHAP stage has covers for {covers[k].Length} trees of output {k}; the loaded model has {ensemble.Outputs[k].Length}.");
            for (int t = 0; t < covers[k].Length; t++)
            {
                covers[k][t] = new TreeCovers(reader.ReadDoubles(), reader.ReadDoubles());
                if (covers[k][t].Nodes.Length != ensemble.Outputs[k][t].NodeCount || covers[k][t].Leaves.Length != ensemble.Outputs[k][t].LeafCount)
                    throw new InvalidDataException($"The saved covers of tree {t} do not match the loaded model's tree.");
            }
        }
        return new PathDependentTreeShap(ensemble, covers);
    }

    internal sealed class Scratch(int maxNodes, int maxDepth)
    {
        public readonly bool[] GoesLeft = new bool[maxNodes];
        public readonly bool[] Hot = new bool[maxDepth];
        public readonly double[] Contribution = new double[maxDepth];
        public readonly double[] Polynomial = new double[maxDepth + 1];
    }

    protected override Scratch CreateScratch() => new(_maxNodes, _maxDepth);

    protected override void ExplainRow(ReadOnlySpan<float> features, int output, Span<double> values, Span<double> explained, Scratch scratch)
    {
        int first = output < 0 ? 0 : output, last = output < 0 ? _outputs.Length - 1 : output;
        for (int k = first; k <= last; k++)
        {
            var phi = values.Slice(k * FeatureCount, FeatureCount);
            explained[k] = ExplainOutput(_outputs[k], features, phi, scratch);
            Ensemble.MoveGroupValues(features, phi);
        }
    }

    private double ExplainOutput(CompiledTrees trees, ReadOnlySpan<float> features, Span<double> phi, Scratch scratch)
    {
        var goesLeft = scratch.GoesLeft;
        for (int node = 0; node < trees.Slot.Length; node++)
            goesLeft[node] = trees.GoesLeft(node, features);

        double margin = 0;
        for (int leaf = 0; leaf < trees.LeafValue.Length; leaf++)
        {
            int playerStart = trees.PlayerStart[leaf];
            int depth = trees.PlayerStart[leaf + 1] - playerStart;
            if (depth == 0)
            {
                margin += trees.LeafValue[leaf];
                continue;
            }
            var players = trees.Player.AsSpan(playerStart, depth);
            int pathStart = trees.PathStart[leaf], pathEnd = trees.PathStart[leaf + 1];
            int tableStart = trees.TableStart[leaf];
            if (tableStart >= 0)
            {
                int all = (1 << depth) - 1, hot = all;
                for (int p = pathStart; p < pathEnd; p++)
                    if (goesLeft[trees.PathNode[p]] != trees.PathLeft[p])
                        hot &= ~(1 << trees.PathPosition[p]);
                if (hot == all) margin += trees.LeafValue[leaf];
                var contributions = _table.AsSpan(tableStart + hot * depth, depth);
                for (int j = 0; j < depth; j++)
                    phi[players[j]] += contributions[j];
            }
            else
            {
                var hot = scratch.Hot.AsSpan(0, depth);
                hot.Fill(true);
                bool reached = true;
                for (int p = pathStart; p < pathEnd; p++)
                    if (goesLeft[trees.PathNode[p]] != trees.PathLeft[p])
                    {
                        hot[trees.PathPosition[p]] = false;
                        reached = false;
                    }
                if (reached) margin += trees.LeafValue[leaf];
                var contributions = scratch.Contribution.AsSpan(0, depth);
                LeafContributions(trees.Zero.AsSpan(playerStart, depth), hot, trees.LeafValue[leaf], _weights[depth], contributions, scratch.Polynomial);
                for (int j = 0; j < depth; j++)
                    phi[players[j]] += contributions[j];
            }
        }
        return margin;
    }

    /// <summary>
    /// The Shapley values of one leaf's game <c>g(S) = value · Π_{j} (j ∈ S ? o_j : z_j)</c> over its d path features,
    /// with <c>o_j = hot[j] ? 1 : 0</c>. With H the hot set (h features) and Z_K the product of the cold features' z:
    /// a cold feature gets <c>−value · Z_K · Σ_k w(h−k) e_k(z_H)</c>; a hot feature i gets
    /// <c>value · (1 − z_i) · Z_K · Σ_k w(h−1−k) e_k(z_{H∖i})</c>, where e_k are the elementary symmetric
    /// polynomials and <c>w(s) = s!(d−s−1)!/d!</c> the Shapley weight of a coalition of size s.
    /// </summary>
    internal static void LeafContributions(ReadOnlySpan<double> zero, ReadOnlySpan<bool> hot, double value,
        ReadOnlySpan<double> weights, Span<double> contributions, Span<double> polynomial)
    {
        int depth = zero.Length;
        double coldProduct = 1;
        int hotCount = 0;
        polynomial[0] = 1;
        for (int j = 0; j < depth; j++)
        {
            if (!hot[j])
            {
                coldProduct *= zero[j];
                continue;
            }
            hotCount++;
            polynomial[hotCount] = 0;
            for (int k = hotCount; k > 0; k--)
                polynomial[k] += zero[j] * polynomial[k - 1];
        }

        double cold = 0;
        if (hotCount < depth)
        {
            for (int k = 0; k <= hotCount; k++)
                cold += weights[hotCount - k] * polynomial[k];
            cold *= -value * coldProduct;
        }
        for (int j = 0; j < depth; j++)
        {
            if (!hot[j])
            {
                contributions[j] = cold;
                continue;
            }
            // Deflate: e_k(H∖j) = e_k(H) − z_j e_{k−1}(H∖j), stable because 0 ≤ z ≤ 1.
            double reduced = 1, sum = weights[hotCount - 1];
            for (int k = 1; k < hotCount; k++)
            {
                reduced = polynomial[k] - zero[j] * reduced;
                sum += weights[hotCount - 1 - k] * reduced;
            }
            contributions[j] = value * (1 - zero[j]) * coldProduct * sum;
        }
    }

    /// <summary><c>weights[d][s] = s!(d−s−1)!/d!</c> for path lengths d up to <paramref name="maxDepth"/>.</summary>
    internal static double[][] ShapleyWeights(int maxDepth)
    {
        var weights = new double[maxDepth + 1][];
        weights[0] = [];
        for (int d = 1; d <= maxDepth; d++)
        {
            weights[d] = new double[d];
            weights[d][0] = 1.0 / d;
            for (int s = 1; s < d; s++)
                weights[d][s] = weights[d][s - 1] * s / (d - s);
        }
        return weights;
    }

    /// <summary>Tabulates the contributions of the shortest paths first, within the table budget.</summary>
    private double[] Tabulate()
    {
        var leaves = _outputs.SelectMany((trees, k) => Enumerable.Range(0, trees.LeafValue.Length)
                .Select(leaf => (trees, leaf, depth: trees.PlayerStart[leaf + 1] - trees.PlayerStart[leaf])))
            .Where(l => l.depth is > 0 and <= MaxTabulatedDepth)
            .OrderBy(l => l.depth)
            .ToList();
        long size = 0;
        foreach (var (trees, leaf, depth) in leaves)
        {
            long entries = (1L << depth) * depth;
            if (size + entries > MaxTableEntries) break;
            trees.TableStart[leaf] = (int)size;
            size += entries;
        }
        var table = new double[size];
        Parallel.ForEach(leaves.Where(l => l.trees.TableStart[l.leaf] >= 0), l =>
        {
            var (trees, leaf, depth) = l;
            var zero = trees.Zero.AsSpan(trees.PlayerStart[leaf], depth);
            Span<bool> hot = stackalloc bool[depth];
            Span<double> polynomial = stackalloc double[depth + 1];
            for (int mask = 0; mask < 1 << depth; mask++)
            {
                for (int j = 0; j < depth; j++) hot[j] = (mask >> j & 1) == 1;
                LeafContributions(zero, hot, trees.LeafValue[leaf], _weights[depth],
                    table.AsSpan(trees.TableStart[leaf] + mask * depth, depth), polynomial);
            }
        });
        return table;
    }

    /// <summary>The trees of one output in flat arrays, with each leaf's path and its features' zero fractions.</summary>
    private sealed class CompiledTrees
    {
        public readonly int[] Slot;
        public readonly float[] Threshold;
        public readonly float[] Missing;
        public readonly int[]?[] Categorical;
        public readonly double[] LeafValue;
        /// <summary>Per leaf (plus an end entry): start of its path in <see cref="PathNode"/>.</summary>
        public readonly int[] PathStart;
        public readonly int[] PathNode;
        public readonly bool[] PathLeft;
        /// <summary>Per path node: position of its player among the leaf's distinct players.</summary>
        public readonly int[] PathPosition;
        /// <summary>Per leaf (plus an end entry): start of its distinct players in <see cref="Player"/> and <see cref="Zero"/>.</summary>
        public readonly int[] PlayerStart;
        public readonly int[] Player;
        public readonly double[] Zero;
        /// <summary>Per leaf: start of its tabulated contributions, or -1 when they are computed per row.</summary>
        public readonly int[] TableStart;
        public readonly int MaxDepth;

        /// <summary>Compiles <paramref name="trees"/>; <paramref name="playerOfSlot"/> maps slots to players (see <see cref="TreeEnsemble.PlayerOfSlot"/>).</summary>
        public CompiledTrees(FlatTree[] trees, TreeCovers[] covers, int[] playerOfSlot)
        {
            var slot = new List<int>();
            var threshold = new List<float>();
            var missing = new List<float>();
            var categorical = new List<int[]?>();
            var leafValue = new List<double>();
            var pathStart = new List<int>();
            var pathNode = new List<int>();
            var pathLeft = new List<bool>();
            var pathPosition = new List<int>();
            var playerStart = new List<int>();
            var player = new List<int>();
            var zero = new List<double>();
            int maxDepth = 0;

            for (int t = 0; t < trees.Length; t++)
            {
                var tree = trees[t];
                int nodeOffset = slot.Count;
                for (int node = 0; node < tree.NodeCount; node++)
                {
                    slot.Add(tree.SplitSlot[node]);
                    threshold.Add(tree.Threshold[node]);
                    missing.Add(tree.MissingValue?[node] ?? float.NaN);
                    categorical.Add(tree.CategoricalSlots[node]);
                }
                var leafPaths = new (int Node, bool Left)[tree.LeafCount][];
                if (tree.NodeCount == 0)
                    leafPaths[0] = [];
                else
                    CollectPaths(tree, 0, [], leafPaths);
                for (int leaf = 0; leaf < tree.LeafCount; leaf++)
                {
                    var path = leafPaths[leaf] ?? throw new InvalidOperationException($"Leaf {leaf} of tree {t} is not reachable from the root.");
                    leafValue.Add(tree.LeafValues[leaf]);
                    pathStart.Add(pathNode.Count);
                    playerStart.Add(player.Count);
                    var positions = new Dictionary<int, int>();
                    for (int p = 0; p < path.Length; p++)
                    {
                        var (node, left) = path[p];
                        int child = left ? tree.Left[node] : tree.Right[node];
                        int playerId = playerOfSlot[tree.SlotsOf(node).First()];
                        if (!positions.TryGetValue(playerId, out int position))
                        {
                            position = positions.Count;
                            positions[playerId] = position;
                            player.Add(playerId);
                            zero.Add(1.0);
                        }
                        zero[playerStart[^1] + position] *= covers[t].Fraction(node, child);
                        pathNode.Add(nodeOffset + node);
                        pathLeft.Add(left);
                        pathPosition.Add(position);
                    }
                    maxDepth = Math.Max(maxDepth, positions.Count);
                }
            }
            pathStart.Add(pathNode.Count);
            playerStart.Add(player.Count);

            Slot = [.. slot];
            Threshold = [.. threshold];
            Missing = [.. missing];
            Categorical = [.. categorical];
            LeafValue = [.. leafValue];
            PathStart = [.. pathStart];
            PathNode = [.. pathNode];
            PathLeft = [.. pathLeft];
            PathPosition = [.. pathPosition];
            PlayerStart = [.. playerStart];
            Player = [.. player];
            Zero = [.. zero];
            TableStart = Enumerable.Repeat(-1, LeafValue.Length).ToArray();
            MaxDepth = maxDepth;
        }

        private static void CollectPaths(FlatTree tree, int node, List<(int, bool)> path, (int, bool)[][] leafPaths)
        {
            foreach (var left in new[] { true, false })
            {
                path.Add((node, left));
                int child = left ? tree.Left[node] : tree.Right[node];
                if (child < 0)
                    leafPaths[~child] = [.. path];
                else
                    CollectPaths(tree, child, path, leafPaths);
                path.RemoveAt(path.Count - 1);
            }
        }

        public bool GoesLeft(int node, ReadOnlySpan<float> features)
        {
            if (Categorical[node] is { } slots)
            {
                foreach (var s in slots)
                {
                    float v = features[s];
                    if (float.IsNaN(v)) v = Missing[node];
                    if (v > 0f) return false;
                }
                return true;
            }
            float value = features[Slot[node]];
            if (float.IsNaN(value)) value = Missing[node];
            return value <= Threshold[node];
        }

        /// <summary>v(∅) = Σ_leaves value · Π z: the cover-weighted mean output.</summary>
        public double BaseValue()
        {
            double sum = 0;
            for (int leaf = 0; leaf < LeafValue.Length; leaf++)
            {
                double product = LeafValue[leaf];
                for (int j = PlayerStart[leaf]; j < PlayerStart[leaf + 1]; j++)
                    product *= Zero[j];
                sum += product;
            }
            return sum;
        }
    }
}
