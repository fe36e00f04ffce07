using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace MLNet.Explain.Shap;

/// <summary>
/// One ML.NET regression tree in flat arrays, evaluated exactly as ML.NET evaluates it
/// (<c>InternalRegressionTree.GetLeaf</c>): float32 thresholds and <c>x &lt;= threshold</c> goes left; a categorical node
/// goes right when any of its one-hot slots is <c>&gt; 0</c>; NaN is first replaced by the node's missing-value default
/// when the tree has them (LightGBM trained with missing-value handling), otherwise NaN fails every comparison
/// (a numeric split sends it right, a categorical split left).
/// </summary>
internal sealed class FlatTree
{
    public FlatTree(int[] left, int[] right, int[] splitSlot, float[] threshold, float[]? missingValue,
        int[]?[] categoricalSlots, double[] leafValues)
    {
        Left = left;
        Right = right;
        SplitSlot = splitSlot;
        Threshold = threshold;
        MissingValue = missingValue;
        CategoricalSlots = categoricalSlots;
        LeafValues = leafValues;
    }

    /// <summary>Child of each internal node taken when the split holds; negative values are <c>~leafIndex</c>.</summary>
    public int[] Left { get; }

    public int[] Right { get; }
    public int[] SplitSlot { get; }
    public float[] Threshold { get; }

    /// <summary>Per node, the value that replaces NaN before the split is evaluated; null when NaN is kept.</summary>
    public float[]? MissingValue { get; }

    /// <summary>Per node, the one-hot slots of a categorical split (null for numeric splits).</summary>
    public int[]?[] CategoricalSlots { get; }

    public double[] LeafValues { get; }

    public int NodeCount => Left.Length;
    public int LeafCount => LeafValues.Length;

    /// <summary>A tree ML.NET evaluates to 0 whatever the input (it has no split).</summary>
    public static FlatTree Zero { get; } = new([], [], [], [], null, [], [0.0]);

    public bool GoesLeft(int node, ReadOnlySpan<float> features)
    {
        if (CategoricalSlots[node] is { } slots)
        {
            foreach (var slot in slots)
                if (ValueAt(node, features[slot]) > 0f)
                    return false;
            return true;
        }
        return ValueAt(node, features[SplitSlot[node]]) <= Threshold[node];
    }

    private float ValueAt(int node, float value)
        => MissingValue is not null && float.IsNaN(value) ? MissingValue[node] : value;

    public int LeafOf(ReadOnlySpan<float> features)
    {
        if (NodeCount == 0) return 0;
        int node = 0;
        while (node >= 0)
            node = GoesLeft(node, features) ? Left[node] : Right[node];
        return ~node;
    }

    public double Evaluate(ReadOnlySpan<float> features) => LeafValues[LeafOf(features)];

    /// <summary>The feature slots whose values decide <paramref name="node"/>.</summary>
    public IEnumerable<int> SlotsOf(int node) => CategoricalSlots[node] ?? [SplitSlot[node]];
}

/// <summary>
/// A tree ensemble model read from ML.NET's public tree structure: one list of trees per explained output (one output
/// for binary, regression and ranking models; one per class for one-versus-all multiclass models such as LightGBM's),
/// the link from margins to the model's score, and the features' grouping into players.
/// </summary>
/// <remarks>
/// A categorical split depends on several one-hot slots at once, so the slots of each categorical range that any tree
/// splits on act as one player (a group). Every other slot is its own player.
/// </remarks>
internal sealed class TreeEnsemble
{
    private TreeEnsemble(string modelName, int featureCount, IReadOnlyList<(int Start, int End)> categoricalBlocks,
        FlatTree[][] outputs, OutputLink link)
    {
        ModelName = modelName;
        FeatureCount = featureCount;
        CategoricalBlockRanges = categoricalBlocks;
        Outputs = outputs;
        Link = link;
        PlayerOfSlot = Enumerable.Range(0, featureCount).ToArray();
        foreach (var range in Groups(outputs, categoricalBlocks))
            for (int slot = range.Start; slot <= range.End; slot++)
                PlayerOfSlot[slot] = range.Start;
        var slotsOfPlayer = Enumerable.Range(0, featureCount).Select(_ => new List<int>()).ToArray();
        for (int slot = 0; slot < featureCount; slot++)
            slotsOfPlayer[PlayerOfSlot[slot]].Add(slot);
        SlotsOfPlayer = slotsOfPlayer.Select(slots => slots.ToArray()).ToArray();
        _groups = SlotsOfPlayer.Where(slots => slots.Length > 1).ToArray();
        foreach (var tree in outputs.SelectMany(trees => trees))
            for (int node = 0; node < tree.NodeCount; node++)
                foreach (var slot in tree.SlotsOf(node))
                    if ((uint)slot >= (uint)featureCount)
                        throw new ArgumentException($"A split of the {modelName} reads feature slot {slot}, but the feature vector has {featureCount} slots.");
    }

    private readonly int[][] _groups;

    /// <summary>The ML.NET model parameters' type name, for messages.</summary>
    public string ModelName { get; }

    public int FeatureCount { get; }

    /// <summary>The categorical blocks of the feature column the groups were formed from.</summary>
    public IReadOnlyList<(int Start, int End)> CategoricalBlockRanges { get; }

    /// <summary>Saves what re-reading the trees from the model needs: the slot count and the categorical blocks.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(FeatureCount);
        writer.Write(CategoricalBlockRanges.Count);
        foreach (var (start, end) in CategoricalBlockRanges)
        {
            writer.Write(start);
            writer.Write(end);
        }
    }

    /// <summary>Re-reads the trees of the loaded model (<paramref name="parts"/>) as <see cref="Save"/> described them.</summary>
    public static TreeEnsemble Load(BinaryReader reader, ModelParts parts)
    {
        int featureCount = reader.ReadInt32();
        var blocks = new (int, int)[reader.ReadInt32()];
        for (int i = 0; i < blocks.Length; i++)
            blocks[i] = (reader.ReadInt32(), reader.ReadInt32());
        return TryRead(parts.Predictor.Model, featureCount, blocks, out var reason)
            ?? throw new InvalidDataException($"The saved SHAP stage explains a tree model, but the loaded model's predictor is {reason}.");
    }

    /// <summary>The trees of each output; the output's margin is the sum of its trees.</summary>
    public FlatTree[][] Outputs { get; }

    /// <summary>How the margins become the model's Score, with each output's calibrator.</summary>
    public OutputLink Link { get; }

    /// <summary>
    /// The player each feature slot belongs to, named by the player's first slot: a slot is its own player unless it
    /// lies in a categorical range, whose slots share the range's first slot as player.
    /// </summary>
    public int[] PlayerOfSlot { get; }

    /// <summary>For each player (indexed by its first slot), the slots it covers (empty for slots that are not a player's first).</summary>
    public int[][] SlotsOfPlayer { get; }

    /// <summary>
    /// Moves each group's value, computed on the group's first slot, to the slot of the category present in the row
    /// (the first slot of the group whose value is &gt; 0), so the value sits on the category that earned it. It stays on
    /// the first slot when no slot of the group is set.
    /// </summary>
    public void MoveGroupValues(ReadOnlySpan<float> features, Span<double> values)
    {
        foreach (var slots in _groups)
        {
            foreach (var slot in slots)
            {
                if (!(features[slot] > 0)) continue;
                if (slot != slots[0])
                {
                    values[slot] += values[slots[0]];
                    values[slots[0]] = 0;
                }
                break;
            }
        }
    }

    /// <summary>The margin of every output for one feature vector, as ML.NET computes it (sum of the trees).</summary>
    public void Margins(ReadOnlySpan<float> features, Span<double> margins)
    {
        for (int output = 0; output < Outputs.Length; output++)
        {
            double sum = 0;
            foreach (var tree in Outputs[output])
                sum += tree.Evaluate(features);
            margins[output] = sum;
        }
    }

    /// <summary>
    /// Reads the tree ensemble behind an ML.NET predictor's model parameters, or returns null with the reason when the
    /// model is not a tree ensemble this reader knows.
    /// </summary>
    public static TreeEnsemble? TryRead(object modelParameters, DataViewSchema.Column featureColumn, out string reason)
        => TryRead(modelParameters, ((VectorDataViewType)featureColumn.Type).Size, CategoricalBlocks(featureColumn), out reason);

    private static TreeEnsemble? TryRead(object modelParameters, int featureCount, IReadOnlyList<(int Start, int End)> blocks, out string reason)
    {
        var (model, calibrator) = PredictorOutputs.Uncalibrated(modelParameters);
        if (model is OneVersusAllModelParameters ova)
        {
            if (PredictorOutputs.OneVersusAll(ova, out reason) is not var (classes, ovaLink))
                return null;
            var outputs = new FlatTree[classes.Length][];
            for (int k = 0; k < classes.Length; k++)
            {
                if (TreesOf(classes[k].Model) is not { } classTrees)
                {
                    reason = $"a OneVersusAllModelParameters whose class {k} model is {PredictorOutputs.TypeName(classes[k].Model)}, not a tree ensemble";
                    return null;
                }
                outputs[k] = classTrees;
            }
            return new TreeEnsemble($"{nameof(OneVersusAllModelParameters)} of {PredictorOutputs.TypeName(classes[0].Model)}",
                featureCount, blocks, outputs, new OutputLink(ovaLink, classes.Select(c => c.Calibrator).ToArray()));
        }
        if (TreesOf(model) is not { } trees)
        {
            reason = $"{PredictorOutputs.TypeName(model)}, not a tree ensemble (TreeSHAP reads FastTree, FastForest and LightGBM models)";
            return null;
        }
        reason = "";
        var link = model is FastTreeTweedieModelParameters ? MarginToScore.Exp : MarginToScore.Identity;
        return new TreeEnsemble(PredictorOutputs.TypeName(model), featureCount, blocks, [trees], new OutputLink(link, [calibrator]));
    }

    private static FlatTree[]? TreesOf(object model)
    {
        // FastForest regression averages its trees; every other ensemble sums them (FastForest binary included).
        return model switch
        {
            FastForestRegressionModelParameters m => Flatten(m.TrainedTreeEnsemble.Trees, 1.0 / Math.Max(1, m.TrainedTreeEnsemble.Trees.Count)),
            TreeEnsembleModelParametersBasedOnQuantileRegressionTree m => Flatten(m.TrainedTreeEnsemble.Trees, 1.0),
            TreeEnsembleModelParametersBasedOnRegressionTree m => Flatten(m.TrainedTreeEnsemble.Trees, 1.0),
            _ => null,
        };
    }

    private static FlatTree[] Flatten<TTree>(IReadOnlyList<TTree> trees, double scale) where TTree : RegressionTreeBase
        => trees.Select(tree => Flatten(tree, scale)).ToArray();

    private static FlatTree Flatten(RegressionTreeBase tree, double scale)
    {
        // ML.NET returns 0 for a tree without a split (GetOutput checks LteChild[0] == 0).
        if (tree.NumberOfLeaves <= 1 || tree.LeftChild.Count == 0 || tree.LeftChild[0] == 0)
            return FlatTree.Zero;
        int nodes = tree.NumberOfNodes;
        var categorical = new int[]?[nodes];
        for (int node = 0; node < nodes; node++)
            if (tree.CategoricalSplitFlags[node])
                categorical[node] = tree.GetCategoricalSplitFeaturesAt(node).ToArray();
        return new FlatTree(
            tree.LeftChild.Take(nodes).ToArray(),
            tree.RightChild.Take(nodes).ToArray(),
            tree.NumericalSplitFeatureIndexes.Take(nodes).ToArray(),
            tree.NumericalSplitThresholds.Take(nodes).ToArray(),
            MissingValuesOf(tree),
            categorical,
            tree.LeafValues.Take(tree.NumberOfLeaves).Select(v => v * scale).ToArray());
    }

    /// <summary>
    /// The per-node replacement of NaN that LightGBM models carry (<c>DefaultValueForMissing</c>). ML.NET does not
    /// expose it, so it is read from the internal tree; null when the tree has none (then NaN stays NaN).
    /// </summary>
    private static float[]? MissingValuesOf(RegressionTreeBase tree)
    {
        var inner = InternalTreeField?.GetValue(tree);
        return inner?.GetType().GetField("DefaultValueForMissing", BindingFlags.Public | BindingFlags.Instance)?.GetValue(inner) as float[];
    }

    private static readonly FieldInfo? InternalTreeField =
        typeof(RegressionTreeBase).GetField("_tree", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>
    /// The slot ranges that must act as one player: for every categorical split on two or more slots, the categorical
    /// block (from the feature column's <c>CategoricalSlotRanges</c> annotation) that holds them, or the span of the
    /// split's slots when no block does; overlapping ranges merged. A categorical split on a single slot depends on that
    /// slot alone and needs no group.
    /// </summary>
    private static IEnumerable<(int Start, int End)> Groups(FlatTree[][] outputs, IReadOnlyList<(int Start, int End)> blocks)
    {
        var ranges = outputs.SelectMany(trees => trees)
            .SelectMany(tree => tree.CategoricalSlots)
            .Where(slots => slots is { Length: > 1 })
            .Select(slots => (Min: slots!.Min(), Max: slots!.Max()))
            .Distinct()
            .Select(span => blocks.Where(b => b.Start <= span.Min && span.Max <= b.End).Select(b => (b.Start, b.End)).DefaultIfEmpty((span.Min, span.Max)).First())
            .OrderBy(r => r.Item1)
            .ToList();
        int start = -1, end = -1;
        foreach (var (rangeStart, rangeEnd) in ranges)
        {
            if (start >= 0 && rangeStart <= end)
            {
                end = Math.Max(end, rangeEnd);
                continue;
            }
            if (start >= 0) yield return (start, end);
            (start, end) = (rangeStart, rangeEnd);
        }
        if (start >= 0) yield return (start, end);
    }

    private const string CategoricalSlotRangesKind = "CategoricalSlotRanges";

    /// <summary>The categorical blocks ML.NET annotates on a feature column (<c>CategoricalSlotRanges</c>: start, end pairs).</summary>
    public static IReadOnlyList<(int Start, int End)> CategoricalBlocks(DataViewSchema.Column featureColumn)
    {
        if (featureColumn.Annotations.Schema.GetColumnOrNull(CategoricalSlotRangesKind) is not { Type: VectorDataViewType { ItemType: var item } }
            || item != NumberDataViewType.Int32)
            return [];
        VBuffer<int> buffer = default;
        featureColumn.Annotations.GetValue(CategoricalSlotRangesKind, ref buffer);
        var values = buffer.DenseValues().ToArray();
        return Enumerable.Range(0, values.Length / 2).Select(i => (values[2 * i], values[2 * i + 1])).ToArray();
    }
}
