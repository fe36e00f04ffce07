using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Pipeline;

/// <summary>
/// An output column that an explanation stage adds to each row, with the ML.NET type and annotations it carries.
/// Values are produced as <see cref="float"/>, <see cref="float"/>[] (dense vectors), <see cref="string"/> or
/// <see cref="string"/>[]; the stage turns them into ML.NET getters.
/// </summary>
public sealed class ExplanationColumn
{
    private ExplanationColumn(string name, DataViewType type, DataViewSchema.Annotations annotations)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An output column needs a name.", nameof(name));
        Name = name;
        Type = type;
        Annotations = annotations;
    }

    public string Name { get; }
    public DataViewType Type { get; }
    public DataViewSchema.Annotations Annotations { get; }

    /// <summary>A float vector whose slots are named by <paramref name="slotNames"/>.</summary>
    public static ExplanationColumn Vector(string name, IReadOnlyList<string> slotNames)
        => new(name, new VectorDataViewType(NumberDataViewType.Single, slotNames.Count), SlotNames.ToAnnotations(slotNames));

    /// <summary>A float vector shaped like a tensor (for image attributions), without slot names.</summary>
    public static ExplanationColumn Tensor(string name, params int[] dimensions)
        => new(name, new VectorDataViewType(NumberDataViewType.Single, dimensions), DataViewSchema.Annotations.Empty);

    public static ExplanationColumn Scalar(string name)
        => new(name, NumberDataViewType.Single, DataViewSchema.Annotations.Empty);

    public static ExplanationColumn Text(string name)
        => new(name, TextDataViewType.Instance, DataViewSchema.Annotations.Empty);

    /// <summary>A variable-length vector of text (e.g. the words a text explanation ranks).</summary>
    public static ExplanationColumn TextVector(string name)
        => new(name, new VectorDataViewType(TextDataViewType.Instance), DataViewSchema.Annotations.Empty);

    /// <summary>A variable-length float vector (e.g. the weights of the words in <see cref="TextVector"/>).</summary>
    public static ExplanationColumn VariableVector(string name)
        => new(name, new VectorDataViewType(NumberDataViewType.Single), DataViewSchema.Annotations.Empty);
}
