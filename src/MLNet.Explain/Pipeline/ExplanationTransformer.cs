using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Pipeline;

/// <summary>
/// A fitted explanation stage: the explained model plus what the stage learned. <see cref="Transform"/> returns every
/// column the model returns plus the stage's attribution columns, computed lazily while the output is read.
/// </summary>
/// <remarks>
/// Saving with <c>mlContext.Model.Save</c> writes the explained <see cref="Model"/> (as an ML.NET sub-model) and the
/// stage's learned state (<see cref="SaveState"/>); <c>mlContext.Model.Load</c> rebuilds the stage with the loader its
/// type registered in <see cref="ExplanationStageRegistry"/>.
/// </remarks>
public abstract class ExplanationTransformer : ITransformer
{
    protected ExplanationTransformer(ITransformer model)
        => Model = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>The model this stage explains.</summary>
    public ITransformer Model { get; }

    /// <summary>Computes the per-row columns; null for stages whose results are global only.</summary>
    protected abstract RowExplainer? RowExplainer { get; }

    public bool IsRowToRowMapper => Model.IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
        => AttributionSchema.Extend(Model.GetOutputSchema(inputSchema), RowExplainer);

    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var scored = Model.Transform(input);
        return RowExplainer is { } explainer ? new AttributionDataView(scored, explainer) : scored;
    }

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        var scoring = Model.GetRowToRowMapper(inputSchema);
        return RowExplainer is { } explainer ? new AttributionRowMapper(scoring, explainer) : scoring;
    }

    /// <summary>
    /// Writes what the stage learned at Fit and needs to explain rows: everything except <see cref="Model"/>, which is
    /// saved separately. The loader registered for this type in <see cref="ExplanationStageRegistry"/> reads it back
    /// and gets only the loaded model and these bytes (no data, no input schema), so save column and slot names too.
    /// </summary>
    protected abstract void SaveState(BinaryWriter writer);

    void ICanSaveModel.Save(ModelSaveContext ctx) => ModelPersistence.Save(this, ctx, SaveState);
}

internal static class AttributionSchema
{
    public static DataViewSchema Extend(DataViewSchema scored, RowExplainer? explainer)
    {
        if (explainer is null) return scored;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(scored);
        foreach (var column in explainer.OutputColumns)
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        var schema = builder.ToSchema();
        foreach (var name in explainer.InputColumns)
            if (Resolve(scored, explainer, name) is null)
                throw new ArgumentOutOfRangeException(nameof(scored),
                    $"The explanation needs column '{name}', which the model's output does not have. Columns: {string.Join(", ", scored.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        return schema;
    }

    /// <summary>Reads the explainer's input columns from a row of the model's output.</summary>
    public static Func<object>[] InputReaders(DataViewRow scoredRow, RowExplainer explainer)
        => InputColumns(scoredRow.Schema, explainer).Select(column => RowValues.CreateReader(scoredRow, column)).ToArray();

    public static IEnumerable<DataViewSchema.Column> InputColumns(DataViewSchema scored, RowExplainer explainer)
        => explainer.InputColumns.Select(name => Resolve(scored, explainer, name)!.Value);

    /// <summary>
    /// The model-output column an explainer reads for <paramref name="name"/>: the visible one, or, for explainers that
    /// read model inputs, the first one (ML.NET keeps input columns first, hidden when a transform replaced them).
    /// </summary>
    private static DataViewSchema.Column? Resolve(DataViewSchema scored, RowExplainer explainer, string name)
        => explainer.ReadsModelInputs ? scored.Where(c => c.Name == name).Cast<DataViewSchema.Column?>().FirstOrDefault() : scored.GetColumnOrNull(name);
}
