using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>A gradient saliency stage before fitting (created by the <c>mlContext.Explain()</c> catalog: Saliency, IntegratedGradients, GradCam, ...).</summary>
public sealed class SaliencyEstimator : IExplanationEstimator<SaliencyTransformer>
{
    private readonly SaliencyMethod _method;
    private readonly int _seed;

    internal SaliencyEstimator(ExplainCatalog catalog, SaliencyMethod method)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _method = method;
        _seed = RowRandom.SeedOf(catalog.Context, method.Options.Seed);
    }

    public SaliencyTransformer Fit(ITransformer model, IDataView data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var options = _method.Options;
        var head = options.ExplainPredictorHead ? LinearHead.Of(model, data.Schema) : null;
        var onnx = new SaliencyModel(options, head);
        try
        {
            return new SaliencyTransformer(model, new SaliencyExplainer(_method, onnx, _seed, model.GetOutputSchema(data.Schema)));
        }
        catch
        {
            onnx.Dispose();
            throw;
        }
    }
}

/// <summary>A fitted gradient saliency stage: the model's output plus per-row attribution columns shaped like the model input. Dispose to free the ONNX Runtime sessions.</summary>
public sealed class SaliencyTransformer : ExplanationTransformer, IDisposable
{
    private readonly SaliencyExplainer _explainer;

    internal SaliencyTransformer(ITransformer model, SaliencyExplainer explainer) : base(model) => _explainer = explainer;

    /// <summary>Shape of one row of the ONNX model input, e.g. [3, 224, 224].</summary>
    public IReadOnlyList<int> InputShape => _explainer.Model.InputShape;

    /// <summary>Number of explained output values per row (classes).</summary>
    public int OutputSize => _explainer.Model.OutputSize;

    internal SaliencyModel OnnxModel => _explainer.Model;

    protected override RowExplainer RowExplainer => _explainer;

    /// <summary>
    /// Saliency stages hold ONNX Runtime sessions over a model file and are cheap to re-create, so they are not saved: save the explained
    /// <see cref="ExplanationTransformer.Model"/> and append the stage again after loading.
    /// </summary>
    protected override void SaveState(BinaryWriter writer)
        => throw new InvalidOperationException(
            "Saliency stages are not saved with the model (they only reference the ONNX file and options): save the explained model (stage.Model) and fit the saliency stage again after loading it.");

    public void Dispose() => _explainer.Model.Dispose();
}

/// <summary>What differs between saliency methods: their output columns and how a block of rows is explained.</summary>
internal abstract class SaliencyMethod
{
    public abstract SaliencyOptions Options { get; }

    /// <summary>Further columns the method reads (a baseline column).</summary>
    public virtual IEnumerable<string> ExtraInputColumns => [];

    /// <summary>The output columns for this model; also where the method checks its options against the model.</summary>
    public abstract IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model);

    public abstract void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs);

    /// <summary>One gradient with respect to the model input per row, seeded with the row's target.</summary>
    protected static float[][] InputGradients(SaliencyModel model, SaliencyBlock block, ReluGradientMode mode)
    {
        var gradients = new float[block.Count][];
        model.Gradients(mode, model.InputName, block.Count,
            (i, input, cotangent) => { block[i].Input.CopyTo(input); block[i].Cotangent.CopyTo(cotangent); },
            (i, row) => gradients[i] = row.Gradient(model.InputName).ToArray());
        return gradients;
    }

    protected static float[] Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var product = new float[a.Length];
        for (int i = 0; i < product.Length; i++) product[i] = a[i] * b[i];
        return product;
    }

    /// <summary>The explained value: the upstream-weighted sum of the output row (the target logit or probability for a one-hot target).</summary>
    protected static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }
}

/// <summary>The rows of one block with their inputs, targets and (computed once, on demand) the model outputs at the inputs.</summary>
internal sealed class SaliencyBlock
{
    private readonly SaliencyModel _model;
    private readonly SaliencyRow[] _rows;
    private float[]? _outputs;

    public SaliencyBlock(SaliencyModel model, SaliencyRow[] rows)
    {
        _model = model;
        _rows = rows;
        foreach (var row in rows) row.Block = this;
        OutputSize = model.OutputSize;
    }

    public int Count => _rows.Length;

    public int OutputSize { get; }

    public SaliencyRow this[int row] => _rows[row];

    /// <summary>The model output at row <paramref name="row"/>'s input.</summary>
    public ReadOnlySpan<float> Output(int row)
    {
        if (_outputs is null) ForwardWith([]);
        return _outputs.AsSpan(row * OutputSize, OutputSize);
    }

    /// <summary>
    /// The model outputs at <paramref name="others"/> (e.g. IG baselines), computed in the same forward runs as the block's own outputs when
    /// those are not known yet: one run instead of two when the rows and the extra inputs fit one batch.
    /// </summary>
    public float[][] ForwardWith(IReadOnlyList<float[]> others)
    {
        int own = _outputs is null ? Count : 0;
        var outputs = _outputs ?? new float[Count * OutputSize];
        var results = new float[others.Count][];
        _model.Forward(own + others.Count,
            (i, input) => (i < own ? _rows[i].Input : others[i - own]).CopyTo(input),
            (i, output) =>
            {
                if (i < own) output.CopyTo(outputs.AsSpan(i * OutputSize));
                else results[i - own] = output.ToArray();
            });
        _outputs = outputs;
        return results;
    }
}

/// <summary>One row: its model input, its target (as the upstream gradient of the output row), its other columns and its random generator.</summary>
internal sealed class SaliencyRow(RowBlock source, int index, float[] input, int seed, Func<SaliencyRow, float[]> target)
{
    private float[]? _cotangent;

    public int Index { get; } = index;

    public float[] Input { get; } = input;

    public SaliencyBlock Block { get; set; } = null!;

    /// <summary>The upstream gradient of the explained output row: one-hot at the target index, or the row's upstream-gradient vector.</summary>
    public float[] Cotangent => _cotangent ??= target(this);

    /// <summary>The explained value at the row's input.</summary>
    public double TargetValue
    {
        get
        {
            var output = Block.Output(Index);
            double sum = 0;
            for (int k = 0; k < output.Length; k++) sum += (double)output[k] * Cotangent[k];
            return sum;
        }
    }

    public object Value(string column) => source.Get(Index, column);

    public float[] Vector(string column) => source.GetVector(Index, column);

    /// <summary>A generator that depends only on the stage seed and the row's input (a fresh one per call, same sequence each time).</summary>
    public RowRandom Random() => RowRandom.For(seed, Input);
}

/// <summary>The row explainer shared by every saliency method: reads the input column, resolves targets, hands blocks to the method.</summary>
internal sealed class SaliencyExplainer : RowExplainer
{
    private readonly SaliencyMethod _method;
    private readonly int _seed;
    private readonly bool _targetIsKey;

    public SaliencyExplainer(SaliencyMethod method, SaliencyModel model, int seed, DataViewSchema scored)
    {
        _method = method;
        Model = model;
        _seed = seed;
        var options = method.Options;
        var input = Column(scored, options.InputColumnName, "model input");
        if (input.Type is not VectorDataViewType { ItemType: var item } vector || item != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{input.Name}' has type {input.Type}; the model input must be a vector of Single with {model.InputSize} values (ONNX input '{model.InputName}' [{string.Join(",", model.InputShape)}]).");
        if (vector.Size != 0 && vector.Size != model.InputSize)
            throw new ArgumentException($"Column '{input.Name}' holds {vector.Size} values per row, but ONNX input '{model.InputName}' has shape [{string.Join(",", model.InputShape)}] ({model.InputSize} values per row).");

        var target = options.Target ?? SaliencyTarget.TopPrediction;
        if (target.Kind == SaliencyTargetKind.FixedIndex && target.FixedIndex >= model.OutputSize)
            throw new ArgumentOutOfRangeException(nameof(scored), target.FixedIndex, $"Target index {target.FixedIndex} is out of range: output '{model.OutputName}' has {model.OutputSize} values per row (indices 0 to {model.OutputSize - 1}).");
        if (target.ColumnName is { } targetColumn)
        {
            var column = Column(scored, targetColumn, "target");
            _targetIsKey = column.Type is KeyDataViewType;
            if (target.Kind == SaliencyTargetKind.UpstreamGradient && (column.Type is not VectorDataViewType { ItemType: var t, Size: var size } || t != NumberDataViewType.Single || (size != 0 && size != model.OutputSize)))
                throw new ArgumentException($"Upstream-gradient column '{targetColumn}' has type {column.Type}; a vector of {model.OutputSize} Single values (one per value of output '{model.OutputName}') was expected.");
            if (target.Kind == SaliencyTargetKind.IndexColumn && column.Type is VectorDataViewType or TextDataViewType or BooleanDataViewType)
                throw new ArgumentException($"Target column '{targetColumn}' has type {column.Type}; a class index (integer, float or key) was expected.");
        }

        InputColumns = new[] { options.InputColumnName }.Concat(target.ColumnName is { } c ? [c] : []).Concat(method.ExtraInputColumns).Distinct().ToArray();
        foreach (var extra in method.ExtraInputColumns) Column(scored, extra, "baseline");
        OutputColumns = method.Columns(model);
    }

    public SaliencyModel Model { get; }

    public override IReadOnlyList<string> InputColumns { get; }

    public override IReadOnlyList<ExplanationColumn> OutputColumns { get; }

    public override int BlockSize => Math.Max(Model.BatchSize, 16);

    public override void Explain(RowBlock block, object[][] outputs)
    {
        var options = _method.Options;
        var rows = new SaliencyRow[block.Count];
        for (int r = 0; r < rows.Length; r++)
        {
            var input = block.GetVector(r, options.InputColumnName);
            if (input.Length != Model.InputSize)
                throw new ArgumentException($"Column '{options.InputColumnName}' holds {input.Length} values in this row, but ONNX input '{Model.InputName}' has shape [{string.Join(",", Model.InputShape)}] ({Model.InputSize} values per row).");
            rows[r] = new SaliencyRow(block, r, input, _seed, Cotangent);
        }

        _method.Explain(Model, new SaliencyBlock(Model, rows), outputs);
    }

    private float[] Cotangent(SaliencyRow row)
    {
        var target = _method.Options.Target ?? SaliencyTarget.TopPrediction;
        int size = Model.OutputSize;
        if (target.Kind == SaliencyTargetKind.UpstreamGradient)
        {
            var vector = row.Vector(target.ColumnName!);
            return vector.Length == size ? vector : throw new ArgumentException($"Upstream-gradient column '{target.ColumnName}' holds {vector.Length} values in this row; output '{Model.OutputName}' has {size}.");
        }

        long index = target.Kind switch
        {
            SaliencyTargetKind.FixedIndex => target.FixedIndex,
            SaliencyTargetKind.TopPrediction => ArgMax(row.Block.Output(row.Index)),
            _ => IndexOf(row.Value(target.ColumnName!)),
        };
        if (index < 0 || index >= size)
        {
            string source = target.Kind == SaliencyTargetKind.IndexColumn ? $"from column '{target.ColumnName}'" : "";
            throw new ArgumentOutOfRangeException(nameof(row), index, $"Target index {index} {source} is out of range: output '{Model.OutputName}' has {size} values per row (indices 0 to {size - 1}).");
        }

        var cotangent = new float[size];
        cotangent[index] = 1;
        return cotangent;
    }

    private long IndexOf(object value)
    {
        long index = value switch
        {
            uint u => u,
            int i => i,
            long l => l,
            float f when f == Math.Floor(f) => (long)f,
            double d when d == Math.Floor(d) => (long)d,
            _ => throw new ArgumentException($"Target column '{_method.Options.Target.ColumnName}' holds {value}, which is not a class index."),
        };
        if (_targetIsKey && index == 0)
            throw new ArgumentException($"Target column '{_method.Options.Target.ColumnName}' holds a missing key value (0) in this row; it names no class.");
        return _targetIsKey ? index - 1 : index;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static DataViewSchema.Column Column(DataViewSchema schema, string name, string role)
        => schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The data has no column '{name}' (the {role} column). Columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
}
