using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
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
/// and <c>z_j</c> is the product of the cover fractions of those splits. The zero fractions z depend only on the tree;
/// the row enters only through which path features are "hot" (o = 1). Each leaf's contribution to every feature is
/// therefore a function of the hot set alone, computed in O(d²) from elementary symmetric polynomials of the z
/// (<see cref="LeafContributions"/>). For leaves with short paths the weighted coalition sums behind that function are
/// tabulated once for every subset of the path's features (in the spirit of Fast TreeSHAP v2, Yang 2021, but one
/// scalar per subset), so a row costs O(d) per leaf: O(L·d) per tree instead of O(L·d²).
/// </para>
/// <para>Values are computed per player (a feature slot, or a categorical one-hot group; see <see cref="TreeEnsemble"/>).</para>
/// </remarks>
internal sealed class PathDependentTreeShap : RowShapAlgorithm<PathDependentTreeShap.Scratch>
{
    /// <summary>
    /// Longest path (distinct features) whose coalition sums are tabulated. Longer paths are computed per row: their
    /// tables would be large enough that cache misses cost more than the O(d²) computation.
    /// </summary>
    public const int MaxTabulatedDepth = 10;

    /// <summary>Table entries (doubles) allowed per model: 64 MB.</summary>
    public const long MaxTableEntries = 8L << 20;

    private readonly CompiledTrees[] _outputs;
    private readonly double[] _table;
    private readonly double[][] _weights;
    private readonly int _maxWords;
    private readonly int _maxDepth;

    public PathDependentTreeShap(TreeEnsemble ensemble, TreeCovers[][] covers)
    {
        Ensemble = ensemble;
        Covers = covers;
        _outputs = ensemble.Outputs.Select((trees, k) => new CompiledTrees(trees, covers[k], ensemble.PlayerOfSlot)).ToArray();
        _maxWords = _outputs.Max(o => o.Words);
        _maxDepth = _outputs.Max(o => o.MaxDepth);
        _weights = ShapleyWeights(_maxDepth);
        BaseValues = _outputs.Select(o => o.BaseValue()).ToArray();
        _table = Tabulate();
        foreach (var compiled in _outputs)
            compiled.IndexLeaves();
    }

    public TreeEnsemble Ensemble { get; }
    public TreeCovers[][] Covers { get; }
    public override int FeatureCount => Ensemble.FeatureCount;
    public override int OutputCount => _outputs.Length;
    public override IReadOnlyList<double> BaseValues { get; }

    /// <summary>Leaves whose contributions are read from the table, out of all leaves (for diagnostics and tests).</summary>
    public (int Tabulated, int Total) TabulatedLeaves
        => (_outputs.Sum(o => o.TableStart.Count(s => s >= 0)), _outputs.Sum(o => o.TableStart.Length));

    protected override int RowsPerTask => 64;

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

    internal sealed class Scratch(int maxWords, int maxDepth)
    {
        public readonly ulong[] GoesLeft = new ulong[maxWords];
        public readonly bool[] Hot = new bool[maxDepth];
        public readonly double[] Contribution = new double[maxDepth];
        public readonly double[] Polynomial = new double[maxDepth + 1];
    }

    protected override Scratch CreateScratch() => new(_maxWords, _maxDepth);

    /// <summary>
    /// Explains a range of rows tree by tree: each tree's nodes, paths and tables stay in cache while every row of the
    /// range goes through it, instead of streaming the whole model once per row.
    /// </summary>
    protected override void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, Scratch scratch)
    {
        int width = OutputCount * FeatureCount;
        for (int k = 0; k < _outputs.Length; k++)
        {
            var trees = _outputs[k];
            for (int r = from; r < to; r++)
                if (outputs[r] < 0 || outputs[r] == k)
                    explained[r * OutputCount + k] = 0;
            for (int t = 0; t < trees.TreeCount; t++)
                for (int r = from; r < to; r++)
                    if (outputs[r] < 0 || outputs[r] == k)
                        explained[r * OutputCount + k] += ExplainTree(trees, t, rows[r], values.AsSpan(r * width + k * FeatureCount, FeatureCount), scratch);
            for (int r = from; r < to; r++)
                if (outputs[r] < 0 || outputs[r] == k)
                    Ensemble.MoveGroupValues(rows[r], values.AsSpan(r * width + k * FeatureCount, FeatureCount));
        }
    }

    /// <summary>Adds tree <paramref name="t"/>'s Shapley values of one row to <paramref name="phi"/>; returns the tree's output.</summary>
    private double ExplainTree(CompiledTrees trees, int t, ReadOnlySpan<float> features, Span<double> phi, Scratch scratch)
    {
        // The row's direction at every node of the tree, one bit per node.
        int nodeStart = trees.NodeStart[t], nodeCount = trees.NodeStart[t + 1] - nodeStart;
        int words = trees.Words;
        var goesLeft = scratch.GoesLeft.AsSpan(0, words);
        if (words == 1 && !trees.HasCategorical[t])
        {
            ref int slot = ref MemoryMarshal.GetArrayDataReference(trees.Slot);
            ref float threshold = ref MemoryMarshal.GetArrayDataReference(trees.Threshold);
            ref float missing = ref MemoryMarshal.GetArrayDataReference(trees.Missing);
            ulong bits = 0;
            for (int n = 0; n < nodeCount; n++)
            {
                float value = features[Unsafe.Add(ref slot, nodeStart + n)];
                if (float.IsNaN(value)) value = Unsafe.Add(ref missing, nodeStart + n);
                bits |= Bit(value <= Unsafe.Add(ref threshold, nodeStart + n)) << n;
            }
            goesLeft[0] = bits;
        }
        else
        {
            goesLeft.Clear();
            for (int n = 0; n < nodeCount; n++)
                goesLeft[n >> 6] |= Bit(trees.GoesLeft(nodeStart + n, features)) << (n & 63);
        }

        double margin = 0;
        ref double table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref CompiledTrees.LeafInfo leaves = ref MemoryMarshal.GetArrayDataReference(trees.Leaves);
        ref CompiledTrees.PathPlayer players = ref MemoryMarshal.GetArrayDataReference(trees.Players);
        for (int leaf = trees.LeafStart[t]; leaf < trees.LeafStart[t + 1]; leaf++)
        {
            ref var info = ref Unsafe.Add(ref leaves, leaf);
            int depth = info.Depth;
            if (depth == 0)
            {
                margin += info.Value;
                continue;
            }
            if (info.TableStart < 0 || words != 1)
            {
                margin += ExplainLeaf(trees, leaf, goesLeft, phi, scratch);
                continue;
            }

            // The path's nodes where the row goes the other way, packed in node order; a player is cold when one of
            // its nodes is among them (when every player has a single node, the packed bits are the cold set). The
            // leaf's weight is its value times the cold players' zero fractions. Hot and cold players are close to
            // coin flips, so the loops run over the set bits of each set instead of testing every player.
            ref var first = ref Unsafe.Add(ref players, info.PlayerStart);
            ulong disagree = Extract(goesLeft[0] ^ info.LeftMask, info.PathMask);
            int coldSet;
            if (info.SingleNode)
                coldSet = (int)disagree;
            else
            {
                coldSet = 0;
                for (int j = 0; j < depth; j++)
                    coldSet |= (int)Bit((disagree & Unsafe.Add(ref first, j).PackedMask) != 0) << j;
            }
            int hot = ((1 << depth) - 1) & ~coldSet;
            double coldProduct = info.Value;
            for (int rest = coldSet; rest != 0; rest &= rest - 1)
                coldProduct *= Unsafe.Add(ref first, BitOperations.TrailingZeroCount(rest)).Zero;
            if (coldSet == 0)
                margin += info.Value;
            else
            {
                double cold = -coldProduct * Unsafe.Add(ref table, info.TableStart + hot);
                for (int rest = coldSet; rest != 0; rest &= rest - 1)
                    phi[Unsafe.Add(ref first, BitOperations.TrailingZeroCount(rest)).Slot] += cold;
            }
            for (int rest = hot; rest != 0; rest &= rest - 1)
            {
                int j = BitOperations.TrailingZeroCount(rest);
                ref var p = ref Unsafe.Add(ref first, j);
                phi[p.Slot] += coldProduct * p.OneMinusZero * Unsafe.Add(ref table, info.TableStart + (hot & ~(1 << j)));
            }
        }
        return margin;
    }

    /// <summary>The general case of one leaf: players with several nodes on the path, or no table.</summary>
    private double ExplainLeaf(CompiledTrees trees, int leaf, ReadOnlySpan<ulong> goesLeft, Span<double> phi, Scratch scratch)
    {
        int start = trees.PlayerStart[leaf], depth = trees.PlayerStart[leaf + 1] - start;
        int words = trees.Words;
        double value = trees.LeafValue[leaf];
        var hot = scratch.Hot.AsSpan(0, depth);
        int hotMask = 0;
        double coldProduct = value;
        bool reached = true;
        for (int j = 0; j < depth; j++)
        {
            int mask = (start + j) * words;
            bool agrees = true;
            for (int w = 0; w < words; w++)
                agrees &= (goesLeft[w] & trees.Mask[mask + w]) == trees.Left[mask + w];
            hot[j] = agrees;
            reached &= agrees;
            hotMask |= (int)Bit(agrees) << (j & 31);
            if (!agrees) coldProduct *= trees.Zero[start + j];
        }

        int tableStart = trees.TableStart[leaf];
        if (tableStart >= 0)
        {
            var sums = _table.AsSpan(tableStart, 1 << depth);
            double cold = -coldProduct * sums[hotMask];
            for (int j = 0; j < depth; j++)
                phi[trees.Player[start + j]] += hot[j] ? coldProduct * trees.OneMinusZero[start + j] * sums[hotMask & ~(1 << j)] : cold;
        }
        else
        {
            var contributions = scratch.Contribution.AsSpan(0, depth);
            LeafContributions(trees.Zero.AsSpan(start, depth), hot, value, _weights[depth], contributions, scratch.Polynomial);
            for (int j = 0; j < depth; j++)
                phi[trees.Player[start + j]] += contributions[j];
        }
        return reached ? value : 0;
    }

    /// <summary>The bits of <paramref name="value"/> at the set bits of <paramref name="mask"/>, packed (BMI2 PEXT).</summary>
    private static ulong Extract(ulong value, ulong mask)
    {
        if (Bmi2.X64.IsSupported)
            return Bmi2.X64.ParallelBitExtract(value, mask);
        ulong result = 0;
        for (int position = 0; mask != 0; position++, mask &= mask - 1)
            result |= ((value >> BitOperations.TrailingZeroCount(mask)) & 1) << position;
        return result;
    }

    private static ulong Bit(bool value) => Unsafe.As<bool, byte>(ref value);

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

    /// <summary>
    /// Tabulates, for the leaves with the shortest paths (within the table budget), the weighted coalition sums
    /// <c>F(G) = Σ_k w(|G|−k) e_k(z_G)</c> of every subset G of the path's features: with hot set H and Z the product
    /// of the cold features' z, a cold feature then gets <c>−value · Z · F(H)</c> and a hot feature i gets
    /// <c>value · Z · (1 − z_i) · F(H∖i)</c>, one lookup each (see <see cref="LeafContributions"/> for the notation).
    /// F of the set of all path features is never looked up.
    /// </summary>
    private double[] Tabulate()
    {
        var leaves = _outputs.SelectMany(trees => Enumerable.Range(0, trees.LeafValue.Length)
                .Select(leaf => (trees, leaf, depth: trees.PlayerStart[leaf + 1] - trees.PlayerStart[leaf])))
            .Where(l => l.depth is > 0 and <= MaxTabulatedDepth)
            .OrderBy(l => l.depth)
            .ToList();
        // Tables are laid out tree by tree, so one tree's tables stay together in cache while a range of rows uses them.
        long size = 0;
        foreach (var (trees, leaf, depth) in leaves.OrderBy(l => Array.IndexOf(_outputs, l.trees)).ThenBy(l => l.leaf))
        {
            long entries = 1L << depth;
            if (size + entries > MaxTableEntries) continue;
            trees.TableStart[leaf] = (int)size;
            size += entries;
        }
        var table = new double[size];
        Parallel.ForEach(leaves.Where(l => l.trees.TableStart[l.leaf] >= 0), l =>
        {
            var (trees, leaf, depth) = l;
            var zero = trees.Zero.AsSpan(trees.PlayerStart[leaf], depth);
            var weights = _weights[depth];
            var sums = table.AsSpan(trees.TableStart[leaf], 1 << depth);
            Span<double> polynomial = stackalloc double[depth + 1];
            for (int mask = 0; mask < (1 << depth) - 1; mask++)
            {
                int size = 0;
                polynomial[0] = 1;
                for (int j = 0; j < depth; j++)
                {
                    if ((mask >> j & 1) == 0) continue;
                    polynomial[++size] = 0;
                    for (int k = size; k > 0; k--)
                        polynomial[k] += zero[j] * polynomial[k - 1];
                }
                double sum = 0;
                for (int k = 0; k <= size; k++)
                    sum += weights[size - k] * polynomial[k];
                sums[mask] = sum;
            }
        });
        return table;
    }

    /// <summary>
    /// The trees of one output in flat arrays: their nodes, and for each leaf its distinct path features (players) with
    /// their zero fractions and, as bit masks over the tree's nodes, the nodes of the path on that feature and the
    /// directions the path takes there.
    /// </summary>
    private sealed class CompiledTrees
    {
        /// <summary>What the row loop reads per leaf, together in one place.</summary>
        public struct LeafInfo
        {
            public ulong PathMask;
            public ulong LeftMask;
            public double Value;
            public int PlayerStart;
            public int Depth;
            public int TableStart;
            public bool SingleNode;
        }

        /// <summary>What the row loop reads per leaf player.</summary>
        public struct PathPlayer
        {
            public double Zero;
            public double OneMinusZero;
            public ulong PackedMask;
            public int Slot;
        }

        public readonly int TreeCount;
        /// <summary>Per tree (plus an end entry): its first node in the node arrays.</summary>
        public readonly int[] NodeStart;
        /// <summary>Per tree (plus an end entry): its first leaf in the leaf arrays.</summary>
        public readonly int[] LeafStart;
        public readonly int[] Slot;
        public readonly float[] Threshold;
        public readonly float[] Missing;
        public readonly int[]?[] Categorical;
        public readonly double[] LeafValue;
        /// <summary>Per leaf (plus an end entry): start of its distinct players in <see cref="Player"/> and <see cref="Zero"/>.</summary>
        public readonly int[] PlayerStart;
        public readonly int[] Player;
        public readonly double[] Zero;
        /// <summary>Per leaf player, <c>words</c> 64-bit words (the tree's node count / 64, rounded up): the path's nodes on that player.</summary>
        public readonly ulong[] Mask;
        /// <summary>Per leaf player, the same words: which of those nodes the path leaves to the left.</summary>
        public readonly ulong[] Left;
        /// <summary>Per leaf player: 1 − its zero fraction.</summary>
        public readonly double[] OneMinusZero;
        /// <summary>Per leaf: whether each of its players has exactly one node on the path (players then follow node order).</summary>
        public readonly bool[] SingleNodePlayers;
        /// <summary>
        /// Per leaf player of trees with at most 64 nodes: the positions of its nodes among the path's nodes sorted by
        /// node index, as bits (the layout of the packed disagreement bits).
        /// </summary>
        public readonly ulong[] PackedMask;
        /// <summary>Per leaf of trees with at most 64 nodes: the path's nodes, as bits.</summary>
        public readonly ulong[] PathMask;
        /// <summary>Per leaf of trees with at most 64 nodes: the path's nodes where it goes left, as bits.</summary>
        public readonly ulong[] LeftMask;
        /// <summary>Per leaf: start of its tabulated coalition sums, or -1 when they are computed per row.</summary>
        public readonly int[] TableStart;
        /// <summary>Per tree: whether it has a categorical split.</summary>
        public readonly bool[] HasCategorical;
        public LeafInfo[] Leaves = [];
        public readonly PathPlayer[] Players;
        public readonly int MaxDepth;
        /// <summary>64-bit words per node mask: the largest tree's node count / 64, rounded up.</summary>
        public readonly int Words;

        /// <summary>Compiles <paramref name="trees"/>; <paramref name="playerOfSlot"/> maps slots to players (see <see cref="TreeEnsemble.PlayerOfSlot"/>).</summary>
        public CompiledTrees(FlatTree[] trees, TreeCovers[] covers, int[] playerOfSlot)
        {
            var nodeStart = new List<int>();
            var leafStart = new List<int>();
            var slot = new List<int>();
            var threshold = new List<float>();
            var missing = new List<float>();
            var categorical = new List<int[]?>();
            var leafValue = new List<double>();
            var playerStart = new List<int>();
            var player = new List<int>();
            var zero = new List<double>();
            var mask = new List<ulong>();
            var left = new List<ulong>();
            var singleNodePlayers = new List<bool>();
            var pathMask = new List<ulong>();
            var packedMask = new List<ulong>();
            var leftMask = new List<ulong>();
            int maxDepth = 0;
            // One word count for all trees keeps a player's masks at (player index x words).
            int words = Math.Max(1, trees.Select(tree => (tree.NodeCount + 63) >> 6).DefaultIfEmpty(1).Max());

            for (int t = 0; t < trees.Length; t++)
            {
                var tree = trees[t];
                nodeStart.Add(slot.Count);
                leafStart.Add(leafValue.Count);
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
                    playerStart.Add(player.Count);
                    bool single = words == 1 && path.Select(p => playerOfSlot[tree.SlotsOf(p.Node).First()]).Distinct().Count() == path.Length;
                    singleNodePlayers.Add(single);
                    if (single)
                        path = [.. path.OrderBy(p => p.Node)];
                    pathMask.Add(words == 1 ? path.Aggregate(0UL, (m, p) => m | 1UL << p.Node) : 0);
                    var nodeRank = path.Select(p => p.Node).Order().Select((node, rank) => (node, rank)).ToDictionary(p => p.node, p => p.rank);
                    leftMask.Add(words == 1 ? path.Where(p => p.Left).Aggregate(0UL, (m, p) => m | 1UL << p.Node) : 0);
                    var positions = new Dictionary<int, int>();
                    foreach (var (node, goesLeft) in path)
                    {
                        int playerId = playerOfSlot[tree.SlotsOf(node).First()];
                        if (!positions.TryGetValue(playerId, out int position))
                        {
                            position = positions.Count;
                            positions[playerId] = position;
                            player.Add(playerId);
                            zero.Add(1.0);
                            packedMask.Add(0);
                            for (int w = 0; w < words; w++)
                            {
                                mask.Add(0);
                                left.Add(0);
                            }
                        }
                        int at = playerStart[^1] + position;
                        if (words == 1) packedMask[at] |= 1UL << nodeRank[node];
                        zero[at] *= covers[t].Fraction(node, goesLeft ? tree.Left[node] : tree.Right[node]);
                        int word = at * words + (node >> 6);
                        mask[word] |= 1UL << (node & 63);
                        if (goesLeft) left[word] |= 1UL << (node & 63);
                    }
                    maxDepth = Math.Max(maxDepth, positions.Count);
                }
            }
            nodeStart.Add(slot.Count);
            leafStart.Add(leafValue.Count);
            playerStart.Add(player.Count);

            TreeCount = trees.Length;
            NodeStart = [.. nodeStart];
            LeafStart = [.. leafStart];
            Slot = [.. slot];
            Threshold = [.. threshold];
            Missing = [.. missing];
            Categorical = [.. categorical];
            LeafValue = [.. leafValue];
            PlayerStart = [.. playerStart];
            Player = [.. player];
            Zero = [.. zero];
            OneMinusZero = zero.Select(z => 1 - z).ToArray();
            SingleNodePlayers = [.. singleNodePlayers];
            PackedMask = [.. packedMask];
            PathMask = [.. pathMask];
            LeftMask = [.. leftMask];
            Mask = [.. mask];
            Left = [.. left];
            TableStart = Enumerable.Repeat(-1, LeafValue.Length).ToArray();
            MaxDepth = maxDepth;
            Words = words;
            HasCategorical = Enumerable.Range(0, TreeCount)
                .Select(t => Categorical.Skip(NodeStart[t]).Take(NodeStart[t + 1] - NodeStart[t]).Any(c => c is not null)).ToArray();
            Players = Enumerable.Range(0, Player.Length)
                .Select(p => new PathPlayer { Zero = Zero[p], OneMinusZero = OneMinusZero[p], PackedMask = PackedMask[p], Slot = Player[p] })
                .ToArray();
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

        /// <summary>Gathers the per-leaf data the row loop reads (once the tables are laid out).</summary>
        public void IndexLeaves()
            => Leaves = Enumerable.Range(0, LeafValue.Length).Select(leaf => new LeafInfo
            {
                PathMask = PathMask[leaf],
                LeftMask = LeftMask[leaf],
                Value = LeafValue[leaf],
                PlayerStart = PlayerStart[leaf],
                Depth = PlayerStart[leaf + 1] - PlayerStart[leaf],
                TableStart = TableStart[leaf],
                SingleNode = SingleNodePlayers[leaf],
            }).ToArray();

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
