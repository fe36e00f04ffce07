using System.Buffers;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>
/// Scores the evaluation rows with the features of one feature (a set of slots or columns) taken from permuted rows.
/// Implementations must be thread-safe: permutations are scored concurrently.
/// </summary>
internal interface IPermutationScorer
{
    int RowCount { get; }

    /// <summary>Scores per row: 1, or the number of classes.</summary>
    int ScoreCount { get; }

    /// <summary>The model's scores on the unpermuted rows (RowCount x ScoreCount).</summary>
    ReadOnlySpan<float> BaselineScores { get; }

    /// <summary>Scores the rows with feature <paramref name="feature"/> of row <c>i</c> taken from row <c>permutation[i]</c>.</summary>
    void ScorePermuted(int feature, int[] permutation, Span<float> scores, CancellationToken cancellation);
}

/// <summary>The rows a permutation importance run evaluates: labels, a scorer, and the features it can permute.</summary>
internal sealed record EvaluationSet(float[] Labels, IPermutationScorer Scorer, IReadOnlyList<string> FeatureNames);

/// <summary>
/// Slot-level evaluation: the data is featurized once into a float matrix, then slots are permuted in the matrix and
/// scored through the predictor only. Tree ensembles take a direct path that re-evaluates only the trees that split on
/// the permuted slots.
/// </summary>
internal static class SlotLevel
{
    public static EvaluationSet Build(ModelParts parts, IDataView data, PermutationImportanceOptions options,
        IReadOnlyList<(string Name, int[] Slots)> features, int seed, ParallelOptions parallel)
    {
        var featurized = parts.Featurizer.Transform(data);
        var featureColumn = featurized.Schema[parts.FeatureColumnName];
        if (featureColumn.Type is not VectorDataViewType { ItemType: var itemType } || itemType != NumberDataViewType.Single)
            throw new NotSupportedException($"Feature column '{featureColumn.Name}' has type {featureColumn.Type}; slot-level permutation importance needs a vector of Single.");
        var labelColumn = EvaluationLabels.Find(featurized.Schema, options.LabelColumnName, "the featurized data");
        EvaluationLabels.CheckType(labelColumn, parts.Kind);

        int width = parts.FeatureCount;
        using var cursor = featurized.GetRowCursor([featureColumn, labelColumn]);
        var featureGetter = cursor.GetGetter<VBuffer<float>>(featureColumn);
        var readLabel = EvaluationLabels.CreateReader(cursor, labelColumn, parts.Kind);
        VBuffer<float> buffer = default;
        var rows = RowSample.Read(cursor, () =>
        {
            featureGetter(ref buffer);
            var values = new float[width];
            buffer.CopyTo(values);
            return (Row: cursor.Position, Label: readLabel(), Features: values);
        }, options.MaxRows, seed, options.CancellationToken);
        if (rows.Count == 0)
            throw new ArgumentException("The data has no rows; permutation importance needs labelled rows to evaluate the model on.", nameof(data));

        var matrix = new float[rows.Count * width];
        var labels = new float[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            rows[r].Features.CopyTo(matrix, r * width);
            labels[r] = rows[r].Label;
        }

        var predictor = new FeatureScorer(parts);
        for (int r = 0; r < rows.Count; r++)
            EvaluationLabels.Check(labelColumn.Name, labels[r], rows[r].Row, parts.Kind, predictor.OutputCount);
        var slots = features.Select(f => f.Slots).ToArray();
        IPermutationScorer scorer = (IPermutationScorer?)TreeSlotScorer.TryCreate(parts, predictor, matrix, slots, parallel) ?? new PredictorSlotScorer(predictor, matrix, slots);
        return new EvaluationSet(labels, scorer, features.Select(f => f.Name).ToArray());
    }
}

/// <summary>Any predictor: permuted rows are built chunk by chunk and scored through the predictor by <see cref="FeatureScorer"/>.</summary>
internal sealed class PredictorSlotScorer : IPermutationScorer
{
    private const int ChunkValues = 1 << 18;
    private readonly FeatureScorer _predictor;
    private readonly float[] _matrix;
    private readonly int[][] _slots;
    private readonly float[] _baseline;

    public PredictorSlotScorer(FeatureScorer predictor, float[] matrix, int[][] slots)
    {
        _predictor = predictor;
        _matrix = matrix;
        _slots = slots;
        RowCount = matrix.Length / predictor.FeatureCount;
        _baseline = new float[RowCount * ScoreCount];
        predictor.Score(matrix, _baseline);
    }

    public int RowCount { get; }
    public int ScoreCount => _predictor.OutputCount;
    public ReadOnlySpan<float> BaselineScores => _baseline;

    public void ScorePermuted(int feature, int[] permutation, Span<float> scores, CancellationToken cancellation)
    {
        int width = _predictor.FeatureCount;
        int chunkRows = Math.Max(1, ChunkValues / width);
        var chunk = ArrayPool<float>.Shared.Rent(Math.Min(chunkRows, RowCount) * width);
        try
        {
            for (int start = 0; start < RowCount; start += chunkRows)
            {
                cancellation.ThrowIfCancellationRequested();
                int count = Math.Min(chunkRows, RowCount - start);
                Array.Copy(_matrix, start * width, chunk, 0, count * width);
                for (int r = 0; r < count; r++)
                {
                    int donor = permutation[start + r] * width;
                    foreach (int slot in _slots[feature])
                        chunk[r * width + slot] = _matrix[donor + slot];
                }
                _predictor.Score(chunk.AsMemory(0, count * width), scores.Slice(start * ScoreCount, count * ScoreCount));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(chunk);
        }
    }
}

/// <summary>
/// Tree ensembles: the score is a sum over trees, and permuting slots only changes the trees whose decision path for
/// the row tests one of them. The baseline keeps each row's per-tree outputs and (up to 64 slots) the slots each path
/// tests, so a permutation re-evaluates only the (row, tree) pairs it can change, reading permuted slots from the donor
/// row in place. The sum runs in tree order, so scores equal the full evaluation exactly.
/// </summary>
internal sealed class TreeSlotScorer : IPermutationScorer
{
    // Above this many (row, tree) outputs the baseline outputs are not kept and every tree is re-evaluated.
    private const long MaxKeptOutputs = 1L << 24;

    private readonly TreeEnsembleEvaluator _trees;
    private readonly float[] _matrix;
    private readonly int _width;
    private readonly int[][] _slots;
    private readonly int[][] _affectedTrees;
    private readonly double[]? _treeOutputs;
    private readonly ulong[]? _pathSlots;
    private readonly float[] _baseline;

    private TreeSlotScorer(TreeEnsembleEvaluator trees, float[] matrix, int width, int[][] slots, ParallelOptions parallel)
    {
        _trees = trees;
        _matrix = matrix;
        _width = width;
        _slots = slots;
        RowCount = matrix.Length / width;
        int treeCount = trees.TreeCount;
        var treesOfSlot = new List<int>[width];
        for (int t = 0; t < treeCount; t++)
            foreach (int slot in trees.FeaturesOf(t))
                (treesOfSlot[slot] ??= []).Add(t);
        _affectedTrees = slots
            .Select(featureSlots => featureSlots.SelectMany(slot => treesOfSlot[slot] ?? []).Distinct().Order().ToArray())
            .ToArray();
        if ((long)RowCount * treeCount <= MaxKeptOutputs)
        {
            _treeOutputs = new double[RowCount * treeCount];
            if (width <= 64) _pathSlots = new ulong[RowCount * treeCount];
        }
        _baseline = new float[RowCount];
        Parallel.For(0, RowCount, parallel, r =>
        {
            var x = matrix.AsSpan(r * width, width);
            double sum = 0;
            for (int t = 0; t < treeCount; t++)
            {
                double output;
                if (_pathSlots is not null) output = trees.Evaluate(t, x, out _pathSlots[r * treeCount + t]);
                else output = trees.Evaluate(t, x);
                if (_treeOutputs is not null) _treeOutputs[r * treeCount + t] = output;
                sum += output;
            }
            _baseline[r] = (float)sum;
        });
    }

    public int RowCount { get; }
    public int ScoreCount => 1;
    public ReadOnlySpan<float> BaselineScores => _baseline;

    /// <summary>The direct path when the predictor is a numerical-split tree ensemble that this evaluator reproduces exactly.</summary>
    public static TreeSlotScorer? TryCreate(ModelParts parts, FeatureScorer predictor, float[] matrix, int[][] slots, ParallelOptions parallel)
    {
        if (TreeEnsembleEvaluator.TryCreate(parts) is not { } trees) return null;
        int width = parts.FeatureCount, sampleRows = Math.Min(matrix.Length / width, 256);
        return trees.MatchesPredictor(predictor, matrix.AsMemory(0, sampleRows * width)) ? new TreeSlotScorer(trees, matrix, width, slots, parallel) : null;
    }

    public void ScorePermuted(int feature, int[] permutation, Span<float> scores, CancellationToken cancellation)
    {
        if (_affectedTrees[feature].Length == 0)
        {
            _baseline.CopyTo(scores);
            return;
        }
        var fromDonor = new bool[_width];
        ulong permutedSlots = 0;
        foreach (int slot in _slots[feature])
        {
            fromDonor[slot] = true;
            if (slot < 64) permutedSlots |= 1UL << slot;
        }
        for (int r = 0; r < RowCount; r++)
        {
            if ((r & 1023) == 0) cancellation.ThrowIfCancellationRequested();
            var row = _matrix.AsSpan(r * _width, _width);
            var donor = _matrix.AsSpan(permutation[r] * _width, _width);
            double sum = _treeOutputs is null ? EvaluateAll(row, donor, fromDonor)
                : _pathSlots is null ? EvaluateAffected(r, _affectedTrees[feature], row, donor, fromDonor)
                : EvaluateOnChangedPaths(r, permutedSlots, row, donor, fromDonor);
            scores[r] = (float)sum;
        }
    }

    private double EvaluateAll(ReadOnlySpan<float> row, ReadOnlySpan<float> donor, ReadOnlySpan<bool> fromDonor)
    {
        double sum = 0;
        for (int t = 0; t < _trees.TreeCount; t++)
            sum += _trees.EvaluateMixed(t, row, donor, fromDonor);
        return sum;
    }

    private double EvaluateAffected(int r, int[] affected, ReadOnlySpan<float> row, ReadOnlySpan<float> donor, ReadOnlySpan<bool> fromDonor)
    {
        int treeCount = _trees.TreeCount;
        var kept = _treeOutputs.AsSpan(r * treeCount, treeCount);
        double sum = 0;
        for (int t = 0, next = 0; t < treeCount; t++)
        {
            if (next < affected.Length && affected[next] == t)
            {
                sum += _trees.EvaluateMixed(t, row, donor, fromDonor);
                next++;
            }
            else
            {
                sum += kept[t];
            }
        }
        return sum;
    }

    private double EvaluateOnChangedPaths(int r, ulong permutedSlots, ReadOnlySpan<float> row, ReadOnlySpan<float> donor, ReadOnlySpan<bool> fromDonor)
    {
        int treeCount = _trees.TreeCount;
        var kept = _treeOutputs.AsSpan(r * treeCount, treeCount);
        var paths = _pathSlots.AsSpan(r * treeCount, treeCount);
        double sum = 0;
        for (int t = 0; t < treeCount; t++)
            sum += (paths[t] & permutedSlots) != 0 ? _trees.EvaluateMixed(t, row, donor, fromDonor) : kept[t];
        return sum;
    }
}
