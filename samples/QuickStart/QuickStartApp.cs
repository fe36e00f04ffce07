using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Report;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Samples;

/// <summary>
/// The README's first command: train FastTree on the bundled breast cancer data, append a permutation importance stage
/// to the pipeline, print the top features and write the results and the audit report to a folder.
/// </summary>
public static class QuickStartApp
{
    public const string DefaultOutputFolder = "explain-output";

    public static PermutationImportanceResult Run(string outputFolder, TextWriter? console = null)
    {
        console ??= TextWriter.Null;
        var mlContext = new MLContext(seed: 1);

        // The bundled CSV: 30 numeric measurements per tumour and the label Malignant (true/false).
        string dataPath = Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv");
        var header = File.ReadLines(dataPath).First().Split(',');
        var features = header[..^1];
        var columns = features.Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column("Malignant", DataKind.Boolean, header.Length - 1))
            .ToArray();
        var data = mlContext.Data.LoadFromTextFile(dataPath, columns, separatorChar: ',', hasHeader: true);
        var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);

        // An ordinary ML.NET pipeline with the explanation stage appended: fitting trains the model on the training
        // set, then measures each input column's importance on the held-out test set.
        var pipeline = mlContext.Transforms.Concatenate("Features", features)
            .Append(mlContext.BinaryClassification.Trainers.FastTree(labelColumnName: "Malignant", numberOfTrees: 100, numberOfLeaves: 20))
            .Append(mlContext.Explain().PermutationImportance(new PermutationImportanceOptions
            {
                LabelColumnName = "Malignant",
                Level = ImportanceLevel.Columns,
                Repeats = 10,
                EvaluationData = split.TestSet,
            }));
        var explained = pipeline.Fit(split.TrainSet);
        var result = explained.Result;

        console.WriteLine($"FastTree on breast cancer: test {result.Metric} = {result.Baseline:F4} ({result.RowCount} rows).");
        console.WriteLine($"Top features by permutation importance (drop in {result.Metric} when the column is shuffled, 95% CI):");
        foreach (var feature in result.Features.Take(5))
            console.WriteLine($"  {feature.Name,-22} {feature.Mean,8:F4}  [{feature.Ci95Low:F4}, {feature.Ci95High:F4}]");

        Directory.CreateDirectory(outputFolder);
        result.Save(Path.Combine(outputFolder, "importance.json"));
        result.Save(Path.Combine(outputFolder, "importance.csv"));
        console.WriteLine($"Wrote importance.json and importance.csv to {Path.GetFullPath(outputFolder)}");

        // The audit report of the same model on the same test rows: these importances, plus SHAP and LIME fitted with
        // the training set as reference data. One offline page, its JSON and the charts, in <output>/report.
        var shap = mlContext.Explain().Shap(new ShapOptions { BackgroundData = split.TrainSet }).Fit(explained.Model, split.TestSet);
        var lime = mlContext.Explain().Lime().Fit(explained.Model, split.TrainSet);
        var report = new ExplanationReportBuilder(mlContext, explained.Model, split.TestSet, new ReportOptions
            {
                LabelColumn = "Malignant",
                Title = "Breast cancer: why FastTree predicts malignant",
                DataSource = "breast_cancer.csv (test split)",
            })
            .AddPermutationImportance(explained)
            .AddShap(shap)
            .AddLime(lime)
            .Build();
        var reportFolder = Path.Combine(outputFolder, "report");
        report.Save(reportFolder);
        console.WriteLine($"Wrote the report to {Path.GetFullPath(Path.Combine(reportFolder, ExplanationReport.HtmlFileName))}");
        foreach (var warning in report.Document.Warnings)
            console.WriteLine($"  warning: {warning.Message}");
        return result;
    }
}
