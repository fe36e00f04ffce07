using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.Report;

/// <summary>Small models for the report tests.</summary>
internal static class ReportTestModels
{
    /// <summary>Breast cancer with standardized features and a calibrated logistic regression (its score is linear in the features).</summary>
    public static (IDataView Data, ITransformer Model, string Label) BreastCancerLinear(MLContext ml)
    {
        var (data, features, label) = TestData.BreastCancer(ml);
        var pipeline = ml.Transforms.Concatenate("Features", features)
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: label, maximumNumberOfIterations: 30));
        return (data, pipeline.Fit(data), label);
    }

    public const string ScriptColumn = "<script>alert(1)</script>";
    public const string ImageCategory = "<img src=x onerror=\"window.__pwned=1;alert(2)\">";
    public const string QuoteCategory = "\"'><svg onload=alert(3)>&amp;";
    public const string LabelColumn = "<b onmouseover=alert(4)>Label</b>";

    /// <summary>
    /// A data set whose column names, category values and label name are HTML/script payloads: the report must show
    /// them as text and never run them.
    /// </summary>
    public static (IDataView Data, ITransformer Model) Injection(MLContext ml)
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 200).Select(i =>
        {
            float x = (float)random.NextDouble() * 4 - 2;
            string category = (i % 3) switch { 0 => ImageCategory, 1 => QuoteCategory, _ => "plain" };
            float noise = (float)random.NextDouble();
            return new InjectionRow { X = x, Category = category, Noise = noise, Label = x + (category == ImageCategory ? 1 : 0) + noise * 0.5 > 0.3 };
        }).ToList();
        var schema = SchemaDefinition.Create(typeof(InjectionRow));
        schema[nameof(InjectionRow.X)].ColumnName = ScriptColumn;
        schema[nameof(InjectionRow.Label)].ColumnName = LabelColumn;
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        var pipeline = ml.Transforms.Categorical.OneHotEncoding(nameof(InjectionRow.Category))
            .Append(ml.Transforms.Concatenate("Features", ScriptColumn, nameof(InjectionRow.Category), nameof(InjectionRow.Noise)))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: LabelColumn, maximumNumberOfIterations: 30));
        return (data, pipeline.Fit(data));
    }

    private sealed class InjectionRow
    {
        public float X { get; set; }
        public string Category { get; set; } = "";
        public float Noise { get; set; }
        public bool Label { get; set; }
    }
}
