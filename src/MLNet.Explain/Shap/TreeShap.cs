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
/// (<see cref="LeafContributions"/>). For paths of up to <see cref="MaxTabulatedDepth"/> features the weighted
/// coalition sums behind that function are tabulated once for every subset of the path's features (in the spirit of
/// Fast TreeSHAP v2, Yang 2021, but one scalar per subset), so a row costs O(d) per leaf: O(L·d) per tree instead of
/// O(L·d²). Sibling leaves (both children of one node) share every player but the split's feature, so their tables are
/// merged and their shared players visited once (<see cref="Tabulate"/>): about a quarter fewer updates on typical
/// FastTree models. Rows go four at a time, one per vector lane: a leaf's players are the same for all four rows,
/// only their hot sets differ.
/// </para>
/// <para>Values are computed per player (a feature slot, or a categorical one-hot group; see <see cref="TreeEnsemble"/>).</para>
/// </remarks>
internal sealed class PathDependentTreeShap : RowShapAlgorithm<PathDependentTreeShap.Scratch>
{
    /// <summary>
    /// Most players (distinct path features) of a unit whose coalition sums are tabulated. Larger units are computed
    /// per row: their tables would be large enough that cache misses cost more than the O(d²) computation.
    /// </summary>
    public const int MaxTabulatedDepth = 12;

    /// <summary>Table entries (doubles) allowed per model: 64 MB.</summary>
    public const long MaxTableEntries = 8L << 20;

    private readonly CompiledTrees[] _outputs;
    private readonly double[] _table;
    private readonly double[][] _weights;
    private readonly int _maxWords;
    private readonly int _maxDepth;
    private readonly int _maxTabulatedDepth;

    /// <param name="ensemble">The trees.</param>
    /// <param name="covers">Their covers, per output and tree.</param>
    /// <param name="maxTabulatedDepth">Units with more players are computed per row (tests lower it to check the two paths agree).</param>
    public PathDependentTreeShap(TreeEnsemble ensemble, TreeCovers[][] covers, int maxTabulatedDepth = MaxTabulatedDepth)
    {
        _maxTabulatedDepth = maxTabulatedDepth;
        Ensemble = ensemble;
        Covers = covers;
        _outputs = ensemble.Outputs.Select((trees, k) => new CompiledTrees(trees, covers[k], ensemble.PlayerOfSlot)).ToArray();
        _maxWords = _outputs.Max(o => o.Words);
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

    /// <summary>Leaves whose contributions are read from the tables, out of all leaves (for diagnostics and tests).</summary>
    public (int Tabulated, int Total) TabulatedLeaves
        => (_outputs.Sum(o => o.Units.Where(u => u.TableStart >= 0).Sum(u => u.IsPair ? 2 : 1)), _outputs.Sum(o => o.LeafValue.Length));

    protected override int RowsPerTask => 64;

    /// <summary>Rows are cheap: large blocks keep both cores busy between the one-core steps of streaming (reading, handing out values).</summary>
    public override int BlockSize => 8192;

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
        var goesLeft = scratch.GoesLeft.AsSpan(0, Lanes * words);
        if (words == 1 && !trees.HasCategorical[t])
            FourRowDirections(trees, t, scratch.Transposed.AsSpan(group * Lanes * FeatureCount, Lanes * FeatureCount), goesLeft);
        else
            for (int lane = 0; lane < Lanes; lane++)
                NodeDirections(trees, t, scratch.LaneRows[group * Lanes + lane], goesLeft.Slice(lane * words, words));

        var margin = Vector256<double>.Zero;
        ref double table = ref MemoryMarshal.GetArrayDataReference(_table);
        ref double phiStart = ref MemoryMarshal.GetReference(phi);
        ref var hotLanes = ref MemoryMarshal.GetArrayDataReference(scratch.HotLanes);
        ref CompiledTrees.PathPlayer players = ref MemoryMarshal.GetArrayDataReference(trees.UnitPlayers);
        for (int u = trees.UnitStart[t]; u < trees.UnitStart[t + 1]; u++)
        {
            ref var unit = ref trees.Units[u];
            if (unit.TableStart < 0)
            {
                for (int lane = 0; lane < Lanes; lane++)
                {
                    var laneLeft = goesLeft.Slice(lane * words, words);
                    double reached = ExplainLeaf(trees, unit.Leaf, laneLeft, phi, lane, scratch);
                    if (unit.IsPair) reached += ExplainLeaf(trees, unit.SecondLeaf, laneLeft, phi, lane, scratch);
                    margin = margin.WithElement(lane, margin[lane] + reached);
                }
                continue;
            }

            // Each row's hot set: the unit's players none of whose path nodes the row disagrees with. The weight is
            // the cold players' zero fractions. A cold player i gets −weight · M(H) and a hot one
            // weight · (1 − z_i) · M(H∖i): both read M at H without i, in the table of the row's case.
            Vector256<long> disagree;
            if (words == 1)
            {
                ulong path = trees.UnitMasks[2 * u], left = trees.UnitMasks[2 * u + 1];
                disagree = Vector256.Create(
                    (long)Extract(goesLeft[0] ^ left, path), (long)Extract(goesLeft[1] ^ left, path),
                    (long)Extract(goesLeft[2] ^ left, path), (long)Extract(goesLeft[3] ^ left, path));
            }
            else
            {
                var masks = trees.UnitMasks.AsSpan(u * 2 * words, 2 * words);
                disagree = Vector256.Create(
                    Disagreement(goesLeft[..words], masks), Disagreement(goesLeft.Slice(words, words), masks),
                    Disagreement(goesLeft.Slice(2 * words, words), masks), Disagreement(goesLeft.Slice(3 * words, words), masks));
            }
            ref var first = ref Unsafe.Add(ref players, unit.PlayerStart);
            int depth = unit.Depth;
            var hot = Vector256<long>.Zero;
            var weight = Vector256<double>.One;
            for (int j = 0; j < depth; j++)
            {
                ref var player = ref Unsafe.Add(ref first, j);
                var isHot = Vector256.Equals(disagree & Vector256.Create(player.PackedMask), Vector256<long>.Zero);
                hot |= isHot & Vector256.Create(1L << j);
                Unsafe.Add(ref hotLanes, j) = isHot.AsDouble();
                weight *= Vector256.ConditionalSelect(isHot.AsDouble(), Vector256<double>.One, Vector256.Create(player.Zero));
            }
            var allHot = Vector256.Equals(hot, Vector256.Create((1L << depth) - 1)).AsDouble();

            // A pair's case: the row goes left at the split, right, or neither leaf's split player is hot (a node
            // above on the split's feature disagrees). Single leaves have case 0.
            var caseIndex = Vector256<long>.Zero;
            var splitFactor = Vector256<double>.Zero;
            if (unit.IsPair)
            {
                var aboveAgrees = Vector256.Equals(disagree & Vector256.Create(unit.SplitAbove), Vector256<long>.Zero);
                var right = ~Vector256.Equals(disagree & Vector256.Create(unit.SplitBit), Vector256<long>.Zero);
                caseIndex = Vector256.ConditionalSelect(aboveAgrees, right & Vector256<long>.One, Vector256.Create(2L));
                var reachedValue = Vector256.ConditionalSelect(right.AsDouble(), Vector256.Create(unit.RightValue), Vector256.Create(unit.LeftValue));
                margin += allHot & aboveAgrees.AsDouble() & reachedValue;
                splitFactor = Vector256.ConditionalSelect(aboveAgrees.AsDouble(),
                    Vector256.ConditionalSelect(right.AsDouble(), Vector256.Create(unit.SplitRight), Vector256.Create(unit.SplitLeft)),
                    Vector256.Create(unit.SplitNeither));
            }
            else
                margin += allHot & Vector256.Create(unit.LeftValue);

            var index = hot | (caseIndex << depth);
            long index0 = index.GetElement(0), index1 = index.GetElement(1), index2 = index.GetElement(2), index3 = index.GetElement(3);
            ref double sums = ref Unsafe.Add(ref table, unit.TableStart);
            for (int j = 0; j < depth; j++)
            {
                ref var player = ref Unsafe.Add(ref first, j);
                long without = ~(1L << j);
                var sum = Vector256.Create(
                    Unsafe.Add(ref sums, (nint)(index0 & without)), Unsafe.Add(ref sums, (nint)(index1 & without)),
                    Unsafe.Add(ref sums, (nint)(index2 & without)), Unsafe.Add(ref sums, (nint)(index3 & without)));
                var factor = Vector256.ConditionalSelect(Unsafe.Add(ref hotLanes, j), Vector256.Create(player.OneMinusZero), Vector256.Create(-1.0));
                ref double target = ref Unsafe.Add(ref phiStart, player.Slot * Lanes);
                (Vector256.LoadUnsafe(ref target) + weight * factor * sum).StoreUnsafe(ref target);
            }
            if (unit.IsPair)
            {
                // The split player's value from both leaves: weight · F(H) · (its factor in the row's case).
                ref double coalitionSums = ref Unsafe.Add(ref sums, unit.Cases << depth);
                long hotMask = (1L << depth) - 1;
                var sum = Vector256.Create(
                    Unsafe.Add(ref coalitionSums, (nint)(index0 & hotMask)), Unsafe.Add(ref coalitionSums, (nint)(index1 & hotMask)),
                    Unsafe.Add(ref coalitionSums, (nint)(index2 & hotMask)), Unsafe.Add(ref coalitionSums, (nint)(index3 & hotMask)));
                ref double target = ref Unsafe.Add(ref phiStart, unit.SplitSlot * Lanes);
                (Vector256.LoadUnsafe(ref target) + weight * splitFactor * sum).StoreUnsafe(ref target);
            }
        }
        return margin;
    }

    /// <summary>
    /// The unit's path nodes where the row goes the other way than the path, packed in node order (the layout of the
    /// players' <see cref="CompiledTrees.PathPlayer.PackedMask"/>), for trees of several words. <paramref name="masks"/>:
    /// the path's node words, then its left-turn words.
    /// </summary>
    private static long Disagreement(ReadOnlySpan<ulong> goesLeft, ReadOnlySpan<ulong> masks)
    {
        int words = goesLeft.Length;
        ulong packed = 0;
        int shift = 0;
        for (int w = 0; w < words; w++)
        {
            if (masks[w] == 0) continue;
            packed |= Extract(goesLeft[w] ^ masks[words + w], masks[w]) << shift;
            shift += BitOperations.PopCount(masks[w]);
        }
        return (long)packed;
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
        int nodeCount = trees.Trees[t].NodeCount;
        goesLeft.Clear();
        for (int n = 0; n < nodeCount; n++)
            goesLeft[n >> 6] |= Bit(trees.Trees[t].GoesLeft(n, features)) << (n & 63);
    }

    /// <summary>
    /// The general case of one leaf for the row in lane <paramref name="lane"/>, for units without a table: O(d²) from
    /// the leaf's path. Adds to the interleaved <paramref name="phi"/>; returns the leaf's value if the row reaches it, else 0.
    /// </summary>
    private double ExplainLeaf(CompiledTrees trees, int leaf, ReadOnlySpan<ulong> goesLeft, Span<double> phi, int lane, Scratch scratch)
    {
        int start = trees.PlayerStart[leaf], depth = trees.PlayerStart[leaf + 1] - start;
        double value = trees.LeafValue[leaf];
        var hot = scratch.Hot.AsSpan(0, depth);
        hot.Fill(true);
        bool reached = true;
        for (int s = trees.StepStart[leaf]; s < trees.StepStart[leaf + 1]; s++)
        {
            var step = trees.Steps[s];
            bool agrees = ((goesLeft[step.Node >> 6] >> (step.Node & 63)) & 1) == Bit(step.Left);
            hot[step.Position] &= agrees;
            reached &= agrees;
        }
        var contributions = scratch.Contribution.AsSpan(0, depth);
        LeafContributions(trees.Zero.AsSpan(start, depth), hot, value, _weights[depth], contributions, scratch.Polynomial);
        for (int j = 0; j < depth; j++)
            phi[trees.Player[start + j] * Lanes + lane] += contributions[j];
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
    /// Tabulates, for the units with the fewest players (within the table budget), the weighted coalition sums their
    /// players' values read, for every subset G of the unit's players Q (see <see cref="LeafContributions"/> for the
    /// notation; <c>F_d(G) = Σ_k w_d(|G|−k) e_k(z_G)</c> for a leaf of d players). A single leaf of value v: one table,
    /// <c>v · F_d(G)</c>. A sibling pair (values v_L, v_R; the split player f with zero fractions z_L, z_R in the two
    /// leaves; d = |Q| + 1): a table per case, left <c>v_L F_d(G∪f; z_L) + v_R z_R F_d(G)</c>, right
    /// <c>v_L z_L F_d(G) + v_R F_d(G∪f; z_R)</c>, neither <c>(v_L z_L + v_R z_R) F_d(G)</c>, then <c>F_d(G)</c> itself for f.
    /// The entry of G = Q is never read by a player of Q.
    /// </summary>
    private double[] Tabulate()
    {
        var units = _outputs.SelectMany(trees => Enumerable.Range(0, trees.Units.Length).Select(u => (trees, u)))
            .Where(x => x.trees.Units[x.u].Tabulable && x.trees.Units[x.u].Depth <= _maxTabulatedDepth)
            .ToList();
        // Tables are laid out tree by tree, so one tree's tables stay together in cache while a range of rows uses them;
        // when the budget runs out, the units with the most players go without.
        long budget = MaxTableEntries;
        var chosen = units.OrderBy(x => x.trees.Units[x.u].TableSize).TakeWhile(x => (budget -= x.trees.Units[x.u].TableSize) >= 0).ToHashSet();
        long size = 0;
        foreach (var (trees, u) in units.Where(chosen.Contains))
        {
            trees.Units[u].TableStart = (int)size;
            size += trees.Units[u].TableSize;
        }
        var table = new double[size];
        Parallel.ForEach(chosen, x =>
        {
            var unit = x.trees.Units[x.u];
            int q = unit.Depth, count = 1 << q;
            var zero = x.trees.UnitPlayers.AsSpan(unit.PlayerStart, q).ToArray().Select(p => p.Zero).ToArray();
            var tables = table.AsSpan(unit.TableStart, unit.TableSize);
            Span<double> polynomial = stackalloc double[q + 2];
            if (!unit.IsPair)
            {
                for (int g = 0; g < count - 1; g++)
                    tables[g] = unit.LeftValue * CoalitionSum(zero, g, null, _weights[q], polynomial);
                return;
            }
            var weights = _weights[q + 1];
            double vL = unit.LeftValue, vR = unit.RightValue, zL = unit.SplitZeroLeft, zR = unit.SplitZeroRight;
            for (int g = 0; g < count; g++)
            {
                double sum = CoalitionSum(zero, g, null, weights, polynomial);
                tables[unit.Cases * count + g] = sum;
                if (g == count - 1) continue;
                tables[g] = vL * CoalitionSum(zero, g, zL, weights, polynomial) + vR * zR * sum;
                tables[count + g] = vL * zL * sum + vR * CoalitionSum(zero, g, zR, weights, polynomial);
                if (unit.Cases == 3)
                    tables[2 * count + g] = (vL * zL + vR * zR) * sum;
            }
        });
        return table;
    }

    /// <summary><c>Σ_k w(|G|−k) e_k(z_G)</c> for the players in <paramref name="members"/> (bits), plus one more of zero fraction <paramref name="extra"/>.</summary>
    private static double CoalitionSum(ReadOnlySpan<double> zero, int members, double? extra, ReadOnlySpan<double> weights, Span<double> polynomial)
    {
        int size = 0;
        polynomial[0] = 1;
        for (int j = 0; j < zero.Length + 1; j++)
        {
            double z;
            if (j < zero.Length)
            {
                if ((members >> j & 1) == 0) continue;
                z = zero[j];
            }
            else if (extra is { } e) z = e;
            else break;
            polynomial[++size] = 0;
            for (int k = size; k > 0; k--)
                polynomial[k] += z * polynomial[k - 1];
        }
        double sum = 0;
        for (int k = 0; k <= size; k++)
            sum += weights[size - k] * polynomial[k];
        return sum;
    }

    /// <summary>
    /// The trees of one output in flat arrays: their nodes; each leaf's path and distinct path features (players) with
    /// their zero fractions; and the units the row loop visits. A unit is a sibling pair of leaves (both children of
    /// one node are leaves), whose players other than the split's feature are the same in both leaves, so they are
    /// visited once for the two; or a single leaf.
    /// </summary>
    private sealed class CompiledTrees
    {
        /// <summary>One step of a leaf's path: the node, the way the path goes there, and the player's position among the leaf's players.</summary>
        public readonly record struct PathStep(int Node, bool Left, int Position);

        /// <summary>What the row loop reads per unit player.</summary>
        public struct PathPlayer
        {
            public double Zero;
            public double OneMinusZero;
            /// <summary>The positions of the player's nodes among the unit's path nodes in node order, as bits (the layout of the packed disagreement bits).</summary>
            public long PackedMask;
            public int Slot;
        }

        /// <summary>What the row loop reads per unit (see <see cref="Tabulate"/> for the tables).</summary>
        public struct Unit
        {
            public int Leaf;
            /// <summary>The right leaf of a pair (<see cref="Leaf"/> is the left one), else −1.</summary>
            public int SecondLeaf;
            public int PlayerStart;
            /// <summary>Players visited for the unit (a pair's split player apart).</summary>
            public int Depth;
            /// <summary>Start of the unit's tables, or −1 when its leaves are computed per row.</summary>
            public int TableStart;
            /// <summary>Whether the unit's path fits the packed disagreement bits (at most 64 nodes).</summary>
            public bool Tabulable;
            /// <summary>1 for a single leaf; 2 for a pair whose split player is new on the path; 3 when it also splits above.</summary>
            public int Cases;
            public double LeftValue, RightValue;
            public long SplitBit, SplitAbove;
            public int SplitSlot;
            public double SplitZeroLeft, SplitZeroRight;
            /// <summary>The split player's factor in each case: left, right, neither.</summary>
            public double SplitLeft, SplitRight, SplitNeither;
            public readonly bool IsPair => SecondLeaf >= 0;
            public readonly int TableSize => (Cases + (IsPair ? 1 : 0)) << Depth;
        }

        public readonly int TreeCount;
        /// <summary>The trees themselves: per-row walks of trees the vector path does not handle use their own split test.</summary>
        public readonly FlatTree[] Trees;
        /// <summary>Per tree (plus an end entry): its first node in the node arrays.</summary>
        public readonly int[] NodeStart;
        public readonly int[] Slot;
        public readonly float[] Threshold;
        /// <summary>Per node: −1 (all bits set) when a missing value goes left, else 0; a lane mask for vector comparisons.</summary>
        public readonly int[] MissingGoesLeft;
        /// <summary>Per tree: whether it has a categorical split.</summary>
        public readonly bool[] HasCategorical;
        /// <summary>64-bit words per node mask: the largest tree's node count / 64, rounded up.</summary>
        public readonly int Words;

        public readonly double[] LeafValue;
        /// <summary>Per leaf (plus an end entry): start of its distinct players in <see cref="Player"/> and <see cref="Zero"/>.</summary>
        public readonly int[] PlayerStart;
        public readonly int[] Player;
        public readonly double[] Zero;
        /// <summary>Per leaf (plus an end entry): start of its path in <see cref="Steps"/>.</summary>
        public readonly int[] StepStart;
        public readonly PathStep[] Steps;
        public readonly int MaxDepth;

        /// <summary>Per tree (plus an end entry): its first unit.</summary>
        public readonly int[] UnitStart;
        public readonly Unit[] Units;
        public readonly PathPlayer[] UnitPlayers;
        /// <summary>Per unit, <see cref="Words"/> words of its path's nodes, then as many of the nodes where the path goes left.</summary>
        public readonly ulong[] UnitMasks;

        /// <summary>Compiles <paramref name="trees"/>; <paramref name="playerOfSlot"/> maps slots to players (see <see cref="TreeEnsemble.PlayerOfSlot"/>).</summary>
        public CompiledTrees(FlatTree[] trees, TreeCovers[] covers, int[] playerOfSlot)
        {
            var nodeStart = new List<int>();
            var slot = new List<int>();
            var threshold = new List<float>();
            var missingGoesLeft = new List<int>();
            var leafValue = new List<double>();
            var playerStart = new List<int>();
            var player = new List<int>();
            var zero = new List<double>();
            var stepStart = new List<int>();
            var steps = new List<PathStep>();
            var unitStart = new List<int>();
            var units = new List<Unit>();
            var unitPlayers = new List<PathPlayer>();
            var unitMasks = new List<ulong>();
            int maxDepth = 0;
            // One word count for all trees keeps a unit's masks at (unit index x 2 x words).
            int words = Math.Max(1, trees.Select(tree => (tree.NodeCount + 63) >> 6).DefaultIfEmpty(1).Max());

            for (int t = 0; t < trees.Length; t++)
            {
                var tree = trees[t];
                int firstLeaf = leafValue.Count;
                int PlayerOf(int node) => playerOfSlot[tree.SlotsOf(node).First()];
                double FractionOf(int node, bool left) => covers[t].Fraction(node, left ? tree.Left[node] : tree.Right[node]);
                nodeStart.Add(slot.Count);
                for (int node = 0; node < tree.NodeCount; node++)
                {
                    slot.Add(tree.SplitSlot[node]);
                    threshold.Add(tree.Threshold[node]);
                    missingGoesLeft.Add(tree.MissingValue?[node] <= tree.Threshold[node] ? -1 : 0);
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
                    stepStart.Add(steps.Count);
                    var positions = new Dictionary<int, int>();
                    foreach (var (node, left) in path)
                    {
                        int id = PlayerOf(node);
                        if (!positions.TryGetValue(id, out int position))
                        {
                            position = positions[id] = positions.Count;
                            player.Add(id);
                            zero.Add(1.0);
                        }
                        zero[playerStart[^1] + position] *= FractionOf(node, left);
                        steps.Add(new PathStep(node, left, position));
                    }
                    maxDepth = Math.Max(maxDepth, positions.Count);
                }

                // Units: every node whose children are both leaves makes a pair; the other leaves stand alone.
                unitStart.Add(units.Count);
                var paired = new HashSet<int>();
                for (int node = 0; node < tree.NodeCount; node++)
                {
                    if (tree.Left[node] >= 0 || tree.Right[node] >= 0) continue;
                    int leftLeaf = ~tree.Left[node], rightLeaf = ~tree.Right[node];
                    paired.Add(leftLeaf);
                    paired.Add(rightLeaf);
                    var above = leafPaths[leftLeaf][..^1];
                    int split = PlayerOf(node);
                    double splitAboveZero = above.Where(s => PlayerOf(s.Node) == split).Aggregate(1.0, (z, s) => z * FractionOf(s.Node, s.Left));
                    var unit = new Unit
                    {
                        Leaf = firstLeaf + leftLeaf,
                        SecondLeaf = firstLeaf + rightLeaf,
                        Cases = above.Any(s => PlayerOf(s.Node) == split) ? 3 : 2,
                        LeftValue = tree.LeafValues[leftLeaf],
                        RightValue = tree.LeafValues[rightLeaf],
                        SplitSlot = split,
                        SplitZeroLeft = splitAboveZero * FractionOf(node, true),
                        SplitZeroRight = splitAboveZero * FractionOf(node, false),
                    };
                    double vL = unit.LeftValue, vR = unit.RightValue, zL = unit.SplitZeroLeft, zR = unit.SplitZeroRight;
                    unit.SplitLeft = vL * (1 - zL) - vR * zR;
                    unit.SplitRight = vR * (1 - zR) - vL * zL;
                    unit.SplitNeither = -(vL * zL + vR * zR);
                    AddUnit(unit, [.. above, (node, true)], split, node);
                }
                for (int leaf = 0; leaf < tree.LeafCount; leaf++)
                    if (!paired.Contains(leaf))
                        AddUnit(new Unit { Leaf = firstLeaf + leaf, SecondLeaf = -1, Cases = 1, LeftValue = tree.LeafValues[leaf] }, leafPaths[leaf], -1, -1);

                // The unit's players (a pair's split player apart), their zero fractions and packed node positions.
                void AddUnit(Unit unit, (int Node, bool Left)[] path, int splitPlayer, int splitNode)
                {
                    var rank = path.Select(s => s.Node).Order().Select((node, r) => (node, r)).ToDictionary(p => p.node, p => p.r);
                    unit.Tabulable = path.Length <= 64;
                    unit.PlayerStart = unitPlayers.Count;
                    var positions = new Dictionary<int, int>();
                    foreach (var (node, left) in path)
                    {
                        int id = PlayerOf(node);
                        long bit = unit.Tabulable ? 1L << rank[node] : 0;
                        if (node == splitNode) { unit.SplitBit = bit; continue; }
                        if (id == splitPlayer) { unit.SplitAbove |= bit; continue; }
                        if (!positions.TryGetValue(id, out int position))
                        {
                            position = positions[id] = positions.Count;
                            unitPlayers.Add(new PathPlayer { Zero = 1.0, Slot = id });
                        }
                        var p = unitPlayers[unit.PlayerStart + position];
                        p.Zero *= FractionOf(node, left);
                        p.OneMinusZero = 1 - p.Zero;
                        p.PackedMask |= bit;
                        unitPlayers[unit.PlayerStart + position] = p;
                    }
                    unit.Depth = positions.Count;
                    unit.TableStart = -1;
                    var masks = new ulong[2 * words];
                    foreach (var (node, left) in path)
                    {
                        masks[node >> 6] |= 1UL << (node & 63);
                        if (left) masks[words + (node >> 6)] |= 1UL << (node & 63);
                    }
                    unitMasks.AddRange(masks);
                    units.Add(unit);
                }
            }
            nodeStart.Add(slot.Count);
            playerStart.Add(player.Count);
            stepStart.Add(steps.Count);
            unitStart.Add(units.Count);

            TreeCount = trees.Length;
            NodeStart = [.. nodeStart];
            Slot = [.. slot];
            Threshold = [.. threshold];
            Trees = trees;
            MissingGoesLeft = [.. missingGoesLeft];
            HasCategorical = trees.Select(tree => tree.CategoricalSlots.Any(slots => slots is not null)).ToArray();
            Words = words;
            LeafValue = [.. leafValue];
            PlayerStart = [.. playerStart];
            Player = [.. player];
            Zero = [.. zero];
            StepStart = [.. stepStart];
            Steps = [.. steps];
            MaxDepth = maxDepth;
            UnitStart = [.. unitStart];
            Units = [.. units];
            UnitPlayers = [.. unitPlayers];
            UnitMasks = [.. unitMasks];
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
