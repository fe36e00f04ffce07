using System.Collections.Concurrent;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>
/// A fitted SHAP method. It explains feature vectors into Shapley values per output (one output, or one per class)
/// that add up to the explained output: <c>BaseValues[k] + Σ values = explained[k]</c>. Immutable once built, so one
/// instance serves concurrent cursors and is the learned state a saved stage needs.
/// </summary>
internal abstract class ShapAlgorithm
{
    public abstract int FeatureCount { get; }

    /// <summary>Outputs this method explains: 1, or the number of classes.</summary>
    public abstract int OutputCount { get; }

    /// <summary>The expected output over the background or cover data, per output (φ₀).</summary>
    public abstract IReadOnlyList<double> BaseValues { get; }

    /// <summary>Rows worth explaining together when streaming: many for cheap exact methods, few for Kernel SHAP.</summary>
    public virtual int BlockSize => 2048;

    /// <summary>
    /// Explains <paramref name="rows"/>: for row r and each output k it explains (all outputs when
    /// <c>outputs[r] &lt; 0</c>, else output <c>outputs[r]</c> only), writes the Shapley values to
    /// <c>values[(r * OutputCount + k) * FeatureCount ..]</c> and the explained output to
    /// <c>explained[r * OutputCount + k]</c>. Entries of outputs not explained are left as they are.
    /// </summary>
    public abstract void Explain(IReadOnlyList<float[]> rows, int[] outputs, double[] values, double[] explained);

    /// <summary>The name this algorithm's state is saved under (stable: saved models refer to it).</summary>
    protected abstract string SavedName { get; }

    /// <summary>Writes what the algorithm learned; what the explained model itself holds (its trees, weights) is re-read from it on load.</summary>
    protected abstract void SaveCore(BinaryWriter writer);

    public void Save(BinaryWriter writer)
    {
        writer.Write(SavedName);
        SaveCore(writer);
    }

    /// <summary>Reads an algorithm saved by <see cref="Save"/>, around the loaded model's <paramref name="parts"/>.</summary>
    public static ShapAlgorithm LoadSaved(BinaryReader reader, ModelParts parts) => reader.ReadString() switch
    {
        PathDependentTreeShap.Name => PathDependentTreeShap.Load(reader, parts),
        InterventionalTreeShap.Name => InterventionalTreeShap.Load(reader, parts),
        LinearShap.Name => LinearShap.Load(reader, parts),
        KernelShap.Name => KernelShap.Load(reader, parts),
        AffineShap.Name => AffineShap.Load(reader, parts),
        var name => throw new InvalidDataException($"The saved SHAP stage uses algorithm '{name}', which this version of MLNet.Explain does not know."),
    };
}

/// <summary>
/// The values of <c>scale · output + offset</c> from those of the output: values times the scale, the base value
/// mapped like the output. Explains logit(probability) of a Platt-calibrated binary classifier from its margin's values.
/// </summary>
internal sealed class AffineShap(ShapAlgorithm inner, double scale, double offset) : ShapAlgorithm
{
    public const string Name = "Affine";

    public override int FeatureCount => inner.FeatureCount;
    public override int OutputCount => inner.OutputCount;
    public override IReadOnlyList<double> BaseValues { get; } = inner.BaseValues.Select(b => scale * b + offset).ToArray();
    protected override string SavedName => Name;
    public override int BlockSize => inner.BlockSize;

    public override void Explain(IReadOnlyList<float[]> rows, int[] outputs, double[] values, double[] explained)
    {
        inner.Explain(rows, outputs, values, explained);
        for (int i = 0; i < rows.Count * OutputCount * FeatureCount; i++) values[i] *= scale;
        for (int i = 0; i < rows.Count * OutputCount; i++) explained[i] = scale * explained[i] + offset;
    }

    protected override void SaveCore(BinaryWriter writer)
    {
        writer.Write(scale);
        writer.Write(offset);
        inner.Save(writer);
    }

    public static AffineShap Load(BinaryReader reader, ModelParts parts)
    {
        double scale = reader.ReadDouble(), offset = reader.ReadDouble();
        return new AffineShap(LoadSaved(reader, parts), scale, offset);
    }
}

/// <summary>A SHAP method whose rows are independent; ranges of rows run in parallel, each thread with its own scratch space.</summary>
internal abstract class RowShapAlgorithm<TScratch> : ShapAlgorithm where TScratch : class
{
    /// <summary>Rows handed to one thread at a time: enough to amortize scheduling for cheap rows.</summary>
    protected virtual int RowsPerTask => 16;

    protected abstract TScratch CreateScratch();

    /// <summary>
    /// Explains rows [<paramref name="from"/>, <paramref name="to"/>): each row's OutputCount x FeatureCount block of
    /// <paramref name="values"/> (zeroed) and its OutputCount entries of <paramref name="explained"/>.
    /// </summary>
    protected abstract void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, TScratch scratch);

    public sealed override void Explain(IReadOnlyList<float[]> rows, int[] outputs, double[] values, double[] explained)
    {
        int width = OutputCount * FeatureCount;
        foreach (var row in rows)
            if (row.Length != FeatureCount)
                throw new ArgumentException($"A feature vector has {row.Length} slots; the explained model reads {FeatureCount}.", nameof(rows));
        Array.Clear(values, 0, rows.Count * width);
        Parallel.ForEach(Partitioner.Create(0, rows.Count, RowsPerTask), CreateScratch, (range, _, scratch) =>
        {
            ExplainRange(rows, range.Item1, range.Item2, outputs, values, explained, scratch);
            return scratch;
        }, _ => { });
    }
}
