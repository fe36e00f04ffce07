using System.Buffers;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>Everything a fitted SHAP stage learned, in one immutable record.</summary>
/// <param name="Algorithm">The algorithm that was chosen (never <see cref="ShapAlgorithmKind.Auto"/>).</param>
/// <param name="Method">The fitted algorithm.</param>
/// <param name="FeatureColumn">The predictor's feature column.</param>
/// <param name="FeatureNames">Unique names of the feature slots.</param>
/// <param name="ClassNames">Names of the explained outputs of a multiclass model (empty for a single output).</param>
/// <param name="FixedClass">The class <c>ShapValues</c> explains; null: the predicted class of each row.</param>
/// <param name="AllClasses">Whether every class's values are output too.</param>
/// <param name="ExplainedOutput">What base value + Σ values add up to, in words.</param>
internal sealed record ShapState(
    ShapAlgorithmKind Algorithm,
    ShapAlgorithm Method,
    string FeatureColumn,
    IReadOnlyList<string> FeatureNames,
    IReadOnlyList<string> ClassNames,
    int? FixedClass,
    bool AllClasses,
    string ExplainedOutput)
{
    public bool IsMulticlass => ClassNames.Count > 0;
}

/// <summary>
/// A fitted SHAP stage. Its output is the model's output plus, per row, <c>ShapValues</c> (a value per feature slot),
/// <c>ShapBaseValue</c> and <c>ShapOutput</c>, with <c>ShapBaseValue + Σ ShapValues = ShapOutput</c>, the explained
/// output (see <see cref="ExplainedOutput"/>). Multiclass models add <c>ShapClass</c>, the explained class, and with
/// <see cref="ShapOptions.AllClasses"/> the values of every class.
/// </summary>
public sealed class ShapTransformer : ExplanationTransformer
{
    public const string ValuesColumn = "ShapValues";
    public const string BaseValueColumn = "ShapBaseValue";
    public const string OutputColumn = "ShapOutput";
    public const string ClassColumn = "ShapClass";
    public const string AllValuesColumn = "ShapValuesAllClasses";
    public const string AllBaseValuesColumn = "ShapBaseValueAllClasses";
    public const string AllOutputsColumn = "ShapOutputAllClasses";

    /// <summary>The stable name this stage is saved under.</summary>
    internal const string StageName = "MLNet.Explain.Shap";

    private const int StateVersion = 1;

    private readonly ShapRowExplainer _explainer;
    private readonly Lazy<IReadOnlyList<float>> _meanAbsolute;

    internal ShapTransformer(ITransformer model, ShapState state, ModelParts parts, IDataView? fitData, IReadOnlyList<float>? meanAbsolute = null)
        : base(model)
    {
        State = state;
        _explainer = new ShapRowExplainer(state, parts);
        _meanAbsolute = meanAbsolute is not null
            ? new Lazy<IReadOnlyList<float>>(meanAbsolute)
            : new Lazy<IReadOnlyList<float>>(() => fitData is not null
                ? MeanAbsoluteValues(fitData)
                : throw new InvalidOperationException($"{nameof(MeanAbsoluteShap)} of a loaded SHAP stage is known only if it was computed before saving; call {nameof(MeanAbsoluteValues)}(data) instead."));
    }

    protected override void SaveState(BinaryWriter writer)
    {
        writer.Write(StateVersion);
        writer.Write((int)State.Algorithm);
        writer.Write(State.FeatureColumn);
        writer.WriteStrings(State.FeatureNames);
        writer.WriteStrings(State.ClassNames);
        writer.Write(State.FixedClass ?? -1);
        writer.Write(State.AllClasses);
        writer.Write(State.ExplainedOutput);
        State.Method.Save(writer);
        writer.Write(_meanAbsolute.IsValueCreated);
        if (_meanAbsolute.IsValueCreated) writer.WriteFloats(_meanAbsolute.Value.ToArray());
    }

    internal static ShapTransformer Load(ITransformer model, BinaryReader reader)
    {
        int version = reader.ReadInt32();
        if (version != StateVersion)
            throw new InvalidDataException($"The saved SHAP stage has state version {version}; this version of MLNet.Explain reads version {StateVersion}.");
        var algorithm = (ShapAlgorithmKind)reader.ReadInt32();
        var featureColumn = reader.ReadString();
        var featureNames = reader.ReadStrings();
        var classNames = reader.ReadStrings();
        int fixedClass = reader.ReadInt32();
        bool allClasses = reader.ReadBoolean();
        var explainedOutput = reader.ReadString();
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(featureColumn, new VectorDataViewType(NumberDataViewType.Single, featureNames.Length), SlotNames.ToAnnotations(featureNames));
        var parts = ModelParts.OfFeatureColumn(model, builder.ToSchema()[0]);
        var method = ShapAlgorithm.LoadSaved(reader, parts);
        var meanAbsolute = reader.ReadBoolean() ? reader.ReadFloats() : null;
        var state = new ShapState(algorithm, method, featureColumn, featureNames, classNames, fixedClass >= 0 ? fixedClass : null, allClasses, explainedOutput);
        return new ShapTransformer(model, state, parts, null, meanAbsolute);
    }

    internal ShapState State { get; }

    protected override RowExplainer RowExplainer => _explainer;

    /// <summary>The algorithm that explains the model.</summary>
    public ShapAlgorithmKind Algorithm => State.Algorithm;

    /// <summary>Names of the feature slots, in the order of <c>ShapValues</c>.</summary>
    public IReadOnlyList<string> FeatureNames => State.FeatureNames;

    /// <summary>The classes of a multiclass model, in the order of the all-classes columns (empty for other models).</summary>
    public IReadOnlyList<string> ClassNames => State.ClassNames;

    /// <summary>The base value (expected explained output) of each output: one, or one per class.</summary>
    public IReadOnlyList<double> BaseValues => State.Method.BaseValues;

    /// <summary>What <c>ShapBaseValue + Σ ShapValues</c> adds up to, in words (for example <c>log(Score)</c> for Tweedie regression).</summary>
    public string ExplainedOutput => State.ExplainedOutput;

    /// <summary>
    /// Global importance: the mean |SHAP value| of each feature over the data the stage was fitted on (of the class
    /// <c>ShapValues</c> explains), computed on first use.
    /// </summary>
    public IReadOnlyList<float> MeanAbsoluteShap => _meanAbsolute.Value;

    /// <summary>The mean |SHAP value| of each feature over <paramref name="data"/> (in the model's input schema).</summary>
    public IReadOnlyList<float> MeanAbsoluteValues(IDataView data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var sums = new double[FeatureNames.Count];
        long rows = 0;
        foreach (var values in Transform(data).GetColumn<float[]>(ValuesColumn))
        {
            for (int j = 0; j < sums.Length; j++) sums[j] += Math.Abs(values[j]);
            rows++;
        }
        return sums.Select(s => rows == 0 ? 0f : (float)(s / rows)).ToArray();
    }

    /// <summary>
    /// Sums SHAP values by group of slots: by additivity the sum is the exact SHAP value of the group. The default
    /// group of a slot is its source column, the part of the slot name before the first '.' (how ML.NET's Concatenate
    /// names the slots of vector columns, such as one-hot encodings).
    /// </summary>
    public IReadOnlyList<(string Group, float Value)> SumByGroup(IReadOnlyList<float> values, Func<string, string>? groupOf = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != FeatureNames.Count)
            throw new ArgumentException($"Got {values.Count} values; the stage explains {FeatureNames.Count} feature slots.", nameof(values));
        groupOf ??= name => name.Split('.')[0];
        var order = new List<string>();
        var sums = new Dictionary<string, double>();
        for (int j = 0; j < values.Count; j++)
        {
            var group = groupOf(FeatureNames[j]);
            if (!sums.ContainsKey(group)) order.Add(group);
            sums[group] = sums.GetValueOrDefault(group) + values[j];
        }
        return order.Select(g => (g, (float)sums[g])).ToArray();
    }
}

/// <summary>Fills the SHAP columns a block of rows at a time.</summary>
internal sealed class ShapRowExplainer : RowExplainer
{
    private readonly ShapState _state;
    private readonly FeatureScorer? _classScorer;

    public ShapRowExplainer(ShapState state, ModelParts parts)
    {
        _state = state;
        _classScorer = state.IsMulticlass && state.FixedClass is null ? new FeatureScorer(parts) : null;
        InputColumns = [state.FeatureColumn];
        var columns = new List<ExplanationColumn>
        {
            ExplanationColumn.Vector(ShapTransformer.ValuesColumn, state.FeatureNames),
            ExplanationColumn.Scalar(ShapTransformer.BaseValueColumn),
            ExplanationColumn.Scalar(ShapTransformer.OutputColumn),
        };
        if (state.IsMulticlass)
            columns.Add(ExplanationColumn.Text(ShapTransformer.ClassColumn));
        if (state.AllClasses)
        {
            columns.Add(ExplanationColumn.Vector(ShapTransformer.AllValuesColumn,
                state.ClassNames.SelectMany(c => state.FeatureNames.Select(f => $"{c}|{f}")).ToArray()));
            columns.Add(ExplanationColumn.Vector(ShapTransformer.AllBaseValuesColumn, state.ClassNames));
            columns.Add(ExplanationColumn.Vector(ShapTransformer.AllOutputsColumn, state.ClassNames));
        }
        OutputColumns = columns;
    }

    public override IReadOnlyList<string> InputColumns { get; }
    public override IReadOnlyList<ExplanationColumn> OutputColumns { get; }
    // A block's values take rows x outputs x features doubles: at most 16 MB of them, and at least 256 rows.
    public override int BlockSize => Math.Min(_state.Method.BlockSize, Math.Max(256, (2 << 20) / (_state.Method.OutputCount * _state.FeatureNames.Count)));

    public override void Explain(RowBlock block, object[][] outputs)
    {
        var method = _state.Method;
        int count = block.Count, classes = method.OutputCount, features = method.FeatureCount;
        var rows = new float[count][];
        for (int r = 0; r < count; r++)
            rows[r] = block.GetVector(r, _state.FeatureColumn);
        var explainedClass = ExplainedClasses(rows);
        // Rented: a block's values are large-object-heap sized, and allocating them per block of a fast method made
        // garbage collection a large part of streaming time.
        var values = ArrayPool<double>.Shared.Rent(count * classes * features);
        var explained = ArrayPool<double>.Shared.Rent(count * classes);
        try
        {
            method.Explain(rows, _state.AllClasses ? Enumerable.Repeat(-1, count).ToArray() : explainedClass, values, explained);
            WriteOutputs(outputs, explainedClass, values, explained);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(values);
            ArrayPool<double>.Shared.Return(explained);
        }
    }

    private void WriteOutputs(object[][] outputs, int[] explainedClass, double[] values, double[] explained)
    {
        var method = _state.Method;
        int classes = method.OutputCount, features = method.FeatureCount;
        for (int r = 0; r < outputs.Length; r++)
        {
            int k = explainedClass[r];
            var row = outputs[r];
            row[0] = ToFloats(values.AsSpan((r * classes + k) * features, features));
            row[1] = (float)method.BaseValues[k];
            row[2] = (float)explained[r * classes + k];
            if (!_state.IsMulticlass) continue;
            row[3] = _state.ClassNames[k];
            if (!_state.AllClasses) continue;
            row[4] = ToFloats(values.AsSpan(r * classes * features, classes * features));
            row[5] = method.BaseValues.Select(b => (float)b).ToArray();
            row[6] = ToFloats(explained.AsSpan(r * classes, classes));
        }
    }

    /// <summary>The class each row's <c>ShapValues</c> explains: the fixed one, or the model's predicted class.</summary>
    private int[] ExplainedClasses(float[][] rows)
    {
        var classes = new int[rows.Length];
        if (!_state.IsMulticlass) return classes;
        if (_classScorer is null)
        {
            Array.Fill(classes, _state.FixedClass!.Value);
            return classes;
        }
        int count = _classScorer.OutputCount;
        var scores = new float[rows.Length * count];
        _classScorer.Score(rows.SelectMany(r => r).ToArray(), scores);
        for (int r = 0; r < rows.Length; r++)
            classes[r] = ArgMax(scores.AsSpan(r * count, count));
        return classes;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static float[] ToFloats(ReadOnlySpan<double> values)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = (float)values[i];
        return result;
    }
}
