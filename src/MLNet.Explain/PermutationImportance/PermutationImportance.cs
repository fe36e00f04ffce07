using Microsoft.ML;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain;

/// <summary>
/// Permutation feature importance as an explanation stage: fitting measures how much the model's metric drops when
/// each feature (slot, group of slots, or raw input column) is randomly permuted. The fitted stage exposes the
/// <see cref="PermutationImportanceTransformer.Result"/>; its Transform passes the model's predictions through.
/// </summary>
public sealed class PermutationImportanceEstimator : IExplanationEstimator<PermutationImportanceTransformer>
{
    private readonly MLContext _context;
    private readonly PermutationImportanceOptions _options;

    internal PermutationImportanceEstimator(MLContext context, PermutationImportanceOptions options)
    {
        _context = context;
        _options = options;
        options.Validate();
    }

    /// <summary>Computes the importances of <paramref name="model"/>'s features on <paramref name="data"/> (or Options.EvaluationData).</summary>
    public PermutationImportanceTransformer Fit(ITransformer model, IDataView data)
        => new(model, PermutationImportanceRun.Compute(_context, model, _options.EvaluationData ?? data, _options));
}

/// <summary>A fitted permutation importance stage: the explained model plus the importances computed at Fit.</summary>
public sealed class PermutationImportanceTransformer : ExplanationTransformer
{
    /// <summary>The stable name this stage is saved under.</summary>
    internal const string StageName = "MLNet.Explain.PermutationImportance";

    internal PermutationImportanceTransformer(ITransformer model, PermutationImportanceResult result) : base(model)
        => Result = result;

    public PermutationImportanceResult Result { get; }

    /// <summary>The features, most important first (same as <c>Result.Features</c>).</summary>
    public IReadOnlyList<FeatureImportance> Importances => Result.Features;

    /// <summary>Permutation importance is global: no per-row columns.</summary>
    protected override RowExplainer? RowExplainer => null;

    protected override void SaveState(BinaryWriter writer)
    {
        writer.Write(Result.Metric);
        writer.Write(Result.HigherIsBetter);
        writer.Write(Result.Baseline);
        writer.Write((int)Result.Level);
        writer.Write(Result.Repeats);
        writer.Write(Result.RowCount);
        writer.Write(Result.Seed);
        writer.Write(Result.Features.Count);
        foreach (var feature in Result.Features)
        {
            writer.Write(feature.Name);
            writer.WriteStrings(feature.Members);
            foreach (var value in feature.Values)
                writer.Write(value);
        }
    }

    internal static PermutationImportanceTransformer Load(ITransformer model, BinaryReader reader)
    {
        string metric = reader.ReadString();
        bool higherIsBetter = reader.ReadBoolean();
        double baseline = reader.ReadDouble();
        var level = (ImportanceLevel)reader.ReadInt32();
        int repeats = reader.ReadInt32(), rows = reader.ReadInt32(), seed = reader.ReadInt32(), count = reader.ReadInt32();
        if (!Enum.IsDefined(level) || repeats < 1 || count < 0)
            throw new InvalidDataException($"The saved permutation importance state is corrupt (level {level}, {repeats} repeats, {count} features).");
        var features = new FeatureImportance[count];
        for (int f = 0; f < count; f++)
        {
            string name = reader.ReadString();
            var members = reader.ReadStrings();
            var values = new double[repeats];
            for (int r = 0; r < repeats; r++)
                values[r] = reader.ReadDouble();
            features[f] = new FeatureImportance(name, members, values);
        }
        return new(model, new PermutationImportanceResult(metric, higherIsBetter, baseline, level, repeats, rows, seed, features));
    }
}

/// <summary>The permutation importance entry point on <c>mlContext.Explain()</c>.</summary>
public static class PermutationImportanceCatalog
{
    /// <summary>
    /// Permutation feature importance: append it to a pipeline (<c>pipeline.Append(mlContext.Explain().PermutationImportance(options))</c>)
    /// or fit it against a trained model (<c>.Fit(model, data)</c>). See <see cref="PermutationImportanceOptions"/> for defaults.
    /// </summary>
    public static PermutationImportanceEstimator PermutationImportance(this ExplainCatalog catalog, PermutationImportanceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new PermutationImportanceEstimator(catalog.Context, options ?? new PermutationImportanceOptions());
    }
}
