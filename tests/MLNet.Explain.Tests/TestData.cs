using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests;

/// <summary>The bundled data sets (tests/data), loaded with every feature as Single and the label typed per set.</summary>
internal static class TestData
{
    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    /// <summary>Loads a bundled CSV: numeric features, the label (last column) as <paramref name="labelKind"/>.</summary>
    public static (IDataView Data, string[] Features, string Label) Load(MLContext ml, string file, DataKind labelKind)
    {
        var header = File.ReadLines(PathOf(file)).First().Split(',');
        var features = header[..^1];
        var columns = features.Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column(header[^1], labelKind, header.Length - 1))
            .ToArray();
        var data = ml.Data.LoadFromTextFile(PathOf(file), columns, separatorChar: ',', hasHeader: true);
        return (data, features, header[^1]);
    }

    public static (IDataView Data, string[] Features, string Label) BreastCancer(MLContext ml)
        => Load(ml, "breast_cancer.csv", DataKind.Boolean);

    /// <summary>Breast cancer with a FastTree binary classifier on the concatenated features (a small, fast model).</summary>
    public static (IDataView Data, ITransformer Model, string[] Features) BreastCancerFastTree(MLContext ml, int trees = 20)
    {
        var (data, features, label) = BreastCancer(ml);
        var pipeline = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: trees, numberOfLeaves: 8));
        return (data, pipeline.Fit(data), features);
    }
}
