using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    public const int MaxTabulatedDepth = 12;

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

    /// <summary>Rows explained together, one per lane of a <see cref="Vector256{T}"/> of doubles.</summary>
    private const int Lanes = 4;

    internal sealed class Scratch(int maxWords, int maxDepth, int features, int rowsPerTask)
    {
        /// <summary>Per lane, the row's direction at every node of the current tree, one bit per node.</summary>
        public readonly ulong[] GoesLeft = new ulong[Lanes * maxWords];
        /// <summary>The range's rows by lane (a last group short of rows repeats its last row).</summary>
        public readonly float[][] LaneRows = new float[RoundUpToLanes(rowsPerTask)][];
        /// <summary>The range's rows transposed four at a time: [row / 4][slot][row % 4].</summary>
        public readonly float[] Transposed = new float[RoundUpToLanes(rowsPerTask) * features];
        public readonly bool[] Hot = new bool[maxDepth];
        public readonly double[] Contribution = new double[maxDepth];
        public readonly double[] Polynomial = new double[maxDepth + 1];
        /// <summary>Which lanes each path player is hot in, as lane masks.</summary>
        public readonly Vector256<double>[] HotLanes = new Vector256<double>[maxDepth];
        /// <summary>The Shapley values of a range's rows, interleaved four rows at a time: [row / 4][feature][row % 4].</summary>
        public readonly double[] Interleaved = new double[RoundUpToLanes(rowsPerTask) * features];
        /// <summary>The tree sums (margins) of a range's rows.</summary>
        public readonly double[] Margins = new double[RoundUpToLanes(rowsPerTask)];
    }

    private static int RoundUpToLanes(int rows) => (rows + Lanes - 1) / Lanes * Lanes;

    protected override Scratch CreateScratch() => new(_maxWords, _maxDepth, FeatureCount, RowsPerTask);

    /// <summary>
    /// Explains a range of rows tree by tree, so each tree's nodes, paths and tables stay in cache while every row of
    /// the range goes through it, instead of streaming the whole model once per row. Rows go four at a time, one per
    /// vector lane: a leaf's players are the same for all four, only their hot sets differ.
    /// </summary>
    protected override void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, Scratch scratch)
    {
        int width = OutputCount * FeatureCount, groups = (to - from + Lanes - 1) / Lanes;
        var interleaved = scratch.Interleaved.AsSpan(0, groups * Lanes * FeatureCount);
        var margins = scratch.Margins.AsSpan(0, groups * Lanes);
        // A last group short of rows repeats its last row; those lanes are not read back.
        for (int i = 0; i < groups * Lanes; i++)
        {
            var row = scratch.LaneRows[i] = rows[Math.Min(from + i, to - 1)];
            int group = i / Lanes, lane = i % Lanes;
            for (int f = 0; f < FeatureCount; f++)
                scratch.Transposed[(group * FeatureCount + f) * Lanes + lane] = row[f];
        }
        for (int k = 0; k < _outputs.Length; k++)
        {
            if (!Enumerable.Range(from, to - from).Any(r => outputs[r] < 0 || outputs[r] == k))
                continue;
            var trees = _outputs[k];
            interleaved.Clear();
            margins.Clear();
            for (int t = 0; t < trees.TreeCount; t++)
                for (int g = 0; g < groups; g++)
                {
                    var margin = ExplainTree(trees, t, g, interleaved.Slice(g * Lanes * FeatureCount, Lanes * FeatureCount), scratch);
                    (Vector256.Create<double>(margins.Slice(g * Lanes, Lanes)) + margin).CopyTo(margins.Slice(g * Lanes, Lanes));
                }
            for (int r = from; r < to; r++)
            {
                if (!(outputs[r] < 0 || outputs[r] == k))
                    continue;
                int g = (r - from) / Lanes, lane = (r - from) % Lanes;
                var target = values.AsSpan(r * width + k * FeatureCount, FeatureCount);
                for (int f = 0; f < FeatureCount; f++)
                    target[f] = interleaved[(g * FeatureCount + f) * Lanes + lane];
                explained[r * OutputCount + k] = margins[r - from];
                Ensemble.MoveGroupValues(rows[r], target);
            }
        }
    }

    /// <summary>
    /// Adds tree <paramref name="t"/>'s Shapley values of the four rows of group <paramref name="group"/> to
    /// <paramref name="phi"/> (interleaved: [feature][lane]); returns the tree's output for each.
    /// </summary>
    private Vector256<double> ExplainTree(CompiledTrees trees, int t, int group, Span<double> phi, Scratch scratch)
    {
        int words = trees.Words;
        if (words == 1 && !trees.HasCategorical[t])
            FourRowDirections(trees, t, scratch.Transposed.AsSpan(group * Lanes * FeatureCount, Lanes * FeatureCount), scratch.GoesLeft);
        else
            for (int lane = 0; lane < Lanes; lane++)
                NodeDirections(trees, t, scratch.LaneRows[group * Lanes + lane], scratch.GoesLeft.AsSpan(lane * words, words));

        var margin = Vector256<double>.Zero;
        ref double table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref double phiStart = ref MemoryMarshal.GetReference(phi);
        ref var hotLanes = ref MemoryMarshal.GetArrayDataReference(scratch.HotLanes);
        ref CompiledTrees.LeafInfo leaves = ref MemoryMarshal.GetArrayDataReference(trees.Leaves);
        ref CompiledTrees.PathPlayer players = ref MemoryMarshal.GetArrayDataReference(trees.Players);
        for (int leaf = trees.LeafStart[t]; leaf < trees.LeafStart[t + 1]; leaf++)
        {
            ref var info = ref Unsafe.Add(ref leaves, leaf);
            int depth = info.Depth;
            if (depth == 0)
            {
                margin += Vector256.Create(info.Value);
                continue;
            }
            if (info.TableStart < 0 || words != 1)
            {
                for (int lane = 0; lane < Lanes; lane++)
                    margin = margin.WithElement(lane, margin[lane] + ExplainLeaf(trees, leaf, scratch.GoesLeft.AsSpan(lane * words, words), phi, lane, scratch));
                continue;
            }

            // Each row's hot set: the path players none of whose path nodes the row disagrees with. The leaf's weight
            // is its value times the cold players' zero fractions. A cold player i gets −weight · F(H) and a hot one
            // weight · (1 − z_i) · F(H∖i): both read F at H without i.
            ref var first = ref Unsafe.Add(ref players, info.PlayerStart);
            var disagree = Vector256.Create(
                (long)Extract(scratch.GoesLeft[0] ^ info.LeftMask, info.PathMask), (long)Extract(scratch.GoesLeft[1] ^ info.LeftMask, info.PathMask),
                (long)Extract(scratch.GoesLeft[2] ^ info.LeftMask, info.PathMask), (long)Extract(scratch.GoesLeft[3] ^ info.LeftMask, info.PathMask));
            var hot = Vector256<long>.Zero;
            var weight = Vector256.Create(info.Value);
            for (int j = 0; j < depth; j++)
            {
                ref var player = ref Unsafe.Add(ref first, j);
                var isHot = Vector256.Equals(disagree & Vector256.Create((long)player.PackedMask), Vector256<long>.Zero);
                hot |= isHot & Vector256.Create(1L << j);
                Unsafe.Add(ref hotLanes, j) = isHot.AsDouble();
                weight *= Vector256.ConditionalSelect(isHot.AsDouble(), Vector256<double>.One, Vector256.Create(player.Zero));
            }
            margin += Vector256.Equals(disagree, Vector256<long>.Zero).AsDouble() & Vector256.Create(info.Value);
            long hot0 = hot.GetElement(0), hot1 = hot.GetElement(1), hot2 = hot.GetElement(2), hot3 = hot.GetElement(3);

            ref double sums = ref Unsafe.Add(ref table, info.TableStart);
            for (int j = 0; j < depth; j++)
            {
                ref var player = ref Unsafe.Add(ref first, j);
                long without = ~(1L << j);
                var sum = Vector256.Create(
                    Unsafe.Add(ref sums, (nint)(hot0 & without)), Unsafe.Add(ref sums, (nint)(hot1 & without)),
                    Unsafe.Add(ref sums, (nint)(hot2 & without)), Unsafe.Add(ref sums, (nint)(hot3 & without)));
                var factor = Vector256.ConditionalSelect(Unsafe.Add(ref hotLanes, j), Vector256.Create(player.OneMinusZero), Vector256.Create(-1.0));
                ref double target = ref Unsafe.Add(ref phiStart, player.Slot * Lanes);
                (Vector256.LoadUnsafe(ref target) + weight * factor * sum).StoreUnsafe(ref target);
            }
        }
        return margin;
    }

    /// <summary>
    /// Four rows' directions at every node of tree <paramref name="t"/> (at most 64 nodes, no categorical split), one
    /// bit per node and row, from the rows transposed to [slot][lane]: one vector comparison per node gives a nibble,
    /// and each row's bits are extracted from the nibbles at the end.
    /// </summary>
    private static void FourRowDirections(CompiledTrees trees, int t, ReadOnlySpan<float> transposed, Span<ulong> goesLeft)
    {
        int nodeStart = trees.NodeStart[t], nodeCount = trees.NodeStart[t + 1] - nodeStart;
        ref float rows = ref MemoryMarshal.GetReference(transposed);
        ref int slot = ref MemoryMarshal.GetArrayDataReference(trees.Slot);
        ref float threshold = ref MemoryMarshal.GetArrayDataReference(trees.Threshold);
        ref int missingGoesLeft = ref MemoryMarshal.GetArrayDataReference(trees.MissingGoesLeft);
        Span<ulong> nibbles = stackalloc ulong[4];
        nibbles.Clear();
        for (int n = 0; n < nodeCount; n++)
        {
            var values = Vector128.LoadUnsafe(ref rows, (nuint)(Unsafe.Add(ref slot, nodeStart + n) * Lanes));
            var left = Vector128.LessThanOrEqual(values, Vector128.Create(Unsafe.Add(ref threshold, nodeStart + n)))
                | (~Vector128.Equals(values, values) & Vector128.Create(Unsafe.Add(ref missingGoesLeft, nodeStart + n)).AsSingle());
            nibbles[n >> 4] |= (ulong)left.ExtractMostSignificantBits() << ((n & 15) * 4);
        }
        for (int lane = 0; lane < Lanes; lane++)
        {
            ulong bits = 0;
            for (int w = 0; w < (nodeCount + 15) >> 4; w++)
                bits |= Extract(nibbles[w], 0x1111_1111_1111_1111UL << lane) << (16 * w);
            goesLeft[lane] = bits;
        }
    }

    /// <summary>A row's direction at every node of tree <paramref name="t"/>, one bit per node.</summary>
    private static void NodeDirections(CompiledTrees trees, int t, ReadOnlySpan<float> features, Span<ulong> goesLeft)
    {
        int nodeStart = trees.NodeStart[t], nodeCount = trees.NodeStart[t + 1] - nodeStart;
        goesLeft.Clear();
        for (int n = 0; n < nodeCount; n++)
            goesLeft[n >> 6] |= Bit(trees.GoesLeft(nodeStart + n, features)) << (n & 63);
    }

    /// <summary>
    /// The general case of one leaf for the row in lane <paramref name="lane"/>: trees of more than 64 nodes, or no
    /// table. Adds to the interleaved <paramref name="phi"/>; returns the leaf's value if the row reaches it, else 0.
    /// </summary>
    private double ExplainLeaf(CompiledTrees trees, int leaf, ReadOnlySpan<ulong> goesLeft, Span<double> phi, int lane, Scratch scratch)
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
                phi[trees.Player[start + j] * Lanes + lane] += hot[j] ? coldProduct * trees.OneMinusZero[start + j] * sums[hotMask & ~(1 << j)] : cold;
        }
        else
        {
            var contributions = scratch.Contribution.AsSpan(0, depth);
            LeafContributions(trees.Zero.AsSpan(start, depth), hot, value, _weights[depth], contributions, scratch.Polynomial);
            for (int j = 0; j < depth; j++)
                phi[trees.Player[start + j] * Lanes + lane] += contributions[j];
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
        /// <summary>Per node: −1 (all bits set) when a missing value goes left, else 0; a lane mask for vector comparisons.</summary>
        public readonly int[] MissingGoesLeft;
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
            MissingGoesLeft = Threshold.Select((limit, node) => Missing[node] <= limit ? -1 : 0).ToArray();
            Categorical = [.. categorical];
            LeafValue = [.. leafValue];
            PlayerStart = [.. playerStart];
            Player = [.. player];
            Zero = [.. zero];
            OneMinusZero = zero.Select(z => 1 - z).ToArray();
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
