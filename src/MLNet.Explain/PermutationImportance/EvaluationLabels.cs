using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain;

/// <summary>Reads a label column as the float that <see cref="MetricInput.Labels"/> documents, checking its type per task.</summary>
internal static class EvaluationLabels
{
    public static DataViewSchema.Column Find(DataViewSchema schema, string name, string where)
        => schema.GetColumnOrNull(name) is { IsHidden: false } column
            ? column
            : throw new ArgumentException(
                $"Label column '{name}' is not in {where}. Columns: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}. Set LabelColumnName.",
                nameof(name));

    /// <summary>Checks the label type for the task before any row is read.</summary>
    public static void CheckType(DataViewSchema.Column label, PredictionKind kind)
    {
        bool ok = kind switch
        {
            PredictionKind.BinaryClassification => label.Type is BooleanDataViewType or KeyDataViewType { Count: 2 } || IsFloat(label.Type),
            PredictionKind.MulticlassClassification => label.Type is KeyDataViewType || IsFloat(label.Type),
            _ => IsFloat(label.Type),
        };
        if (!ok)
            throw new ArgumentException(
                $"Label column '{label.Name}' has type {label.Type}; {kind} needs {Expected(kind)}.", nameof(label));
    }

    /// <summary>A reader of the label in the current row: 1/0 (binary), class index (multiclass), value (regression); NaN when missing.</summary>
    public static Func<float> CreateReader(DataViewRow row, DataViewSchema.Column label, PredictionKind kind)
    {
        CheckType(label, kind);
        var type = label.Type;
        if (type is BooleanDataViewType)
        {
            var getter = row.GetGetter<bool>(label);
            bool value = false;
            return () => { getter(ref value); return value ? 1 : 0; };
        }
        if (type is KeyDataViewType)
        {
            var read = RowValues.CreateReader(row, label);
            return () => Convert.ToUInt64(read()) is var key and > 0 ? key - 1 : float.NaN;
        }
        Func<float> number;
        if (type.RawType == typeof(float))
        {
            var getter = row.GetGetter<float>(label);
            float value = 0;
            number = () => { getter(ref value); return value; };
        }
        else
        {
            var getter = row.GetGetter<double>(label);
            double value = 0;
            number = () => { getter(ref value); return (float)value; };
        }
        return kind == PredictionKind.BinaryClassification
            ? () => number() is var v && float.IsNaN(v) ? float.NaN : v > 0 ? 1 : 0
            : number;
    }

    /// <summary>Rejects missing labels and, for multiclass, labels that are not a class index of the model.</summary>
    public static void Check(string column, float label, long row, PredictionKind kind, int classCount)
    {
        if (float.IsNaN(label))
            throw new ArgumentException(
                $"Label column '{column}' has a missing (NaN) value in row {row}; permutation importance needs a label on every row it evaluates. Filter such rows out first (e.g. mlContext.Data.FilterRowsByMissingValues).");
        if (kind == PredictionKind.MulticlassClassification && (label < 0 || label >= classCount || label != MathF.Floor(label)))
            throw new ArgumentException(
                $"Label column '{column}' has value {label} in row {row}; the model scores {classCount} classes, so a class index 0..{classCount - 1} (or key 1..{classCount}) is expected.");
    }

    private static bool IsFloat(DataViewType type) => type.RawType == typeof(float) || type.RawType == typeof(double);

    private static string Expected(PredictionKind kind) => kind switch
    {
        PredictionKind.BinaryClassification => "Boolean, Single, Double (positive when > 0) or a key with 2 values",
        PredictionKind.MulticlassClassification => "a key (e.g. from MapValueToKey) or a class index as Single/Double",
        _ => "Single or Double",
    };
}
