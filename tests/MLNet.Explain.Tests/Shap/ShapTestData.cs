using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Tests.Shap;

/// <summary>Small models on the bundled data sets, trained on 80% of the rows and explained on the other 20%.</summary>
internal static class ShapTestData
{
    public sealed record Split(IDataView Train, IDataView Test, string[] Features, string Label);

    public static Split Load(MLContext ml, string file, DataKind labelKind)
    {
        var (data, features, label) = TestData.Load(ml, file, labelKind);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.2, seed: 7);
        return new Split(split.TrainSet, split.TestSet, features, label);
    }

    public static Split BreastCancer(MLContext ml) => Load(ml, "breast_cancer.csv", DataKind.Boolean);
    public static Split Diabetes(MLContext ml) => Load(ml, "diabetes.csv", DataKind.Single);
    public static Split Wine(MLContext ml) => Load(ml, "wine.csv", DataKind.String);

    /// <summary>Fits <paramref name="trainer"/> after concatenating the features (and mapping a text label to a key).</summary>
    public static ITransformer Fit(MLContext ml, Split split, IEstimator<ITransformer> trainer, bool keyLabel = false)
    {
        IEstimator<ITransformer> pipeline = ml.Transforms.Concatenate("Features", split.Features);
        if (keyLabel) pipeline = pipeline.Append(ml.Transforms.Conversion.MapValueToKey(split.Label));
        return pipeline.Append(trainer).Fit(split.Train);
    }

    /// <summary>Rows of the SHAP output: values, base value, explained output and the model's score columns.</summary>
    public sealed record ShapRow(float[] Features, float[] Values, float Base, float Output, float Score, float[]? Scores);

    public static List<ShapRow> Rows(ShapTransformer shap, IDataView data)
    {
        var output = shap.Transform(data);
        var features = output.GetColumn<float[]>("Features").ToList();
        var values = output.GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
        var bases = output.GetColumn<float>(ShapTransformer.BaseValueColumn).ToList();
        var outputs = output.GetColumn<float>(ShapTransformer.OutputColumn).ToList();
        bool vectorScore = output.Schema["Score"].Type is VectorDataViewType;
        var scores = vectorScore ? null : output.GetColumn<float>("Score").ToList();
        var scoreVectors = vectorScore ? output.GetColumn<float[]>("Score").ToList() : null;
        return Enumerable.Range(0, values.Count)
            .Select(r => new ShapRow(features[r], values[r], bases[r], outputs[r], scores?[r] ?? float.NaN, scoreVectors?[r]))
            .ToList();
    }

    /// <summary>|expected − actual| ≤ 1e-4 · max(1, |expected|), the additivity tolerance.</summary>
    public static void AssertAdditive(double expected, double actual, string what)
        => Assert.IsTrue(Math.Abs(expected - actual) <= 1e-4 * Math.Max(1, Math.Abs(expected)),
            $"{what}: base + Σ values = {actual}, model output {expected}");
}
