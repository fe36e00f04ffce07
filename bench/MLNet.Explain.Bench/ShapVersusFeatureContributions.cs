using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Shap;

namespace MLNet.Explain.Bench;

/// <summary>
/// The numbers behind docs/shap.md's comparison: our TreeSHAP values against ML.NET's CalculateFeatureContribution
/// (default: normalized, top 10 + 10; and raw: not normalized, every feature) on a breast cancer FastTree, one row in
/// detail and local accuracy and ranking agreement over all rows. Not a timing: needs no bench lock.
/// </summary>
internal static class ShapVersusFeatureContributions
{
    public static void Run(string[] args)
    {
        int detailRow = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 0;
        var ml = new MLContext(seed: 1);
        var header = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv")).First().Split(',');
        var features = header[..^1];
        var columns = features.Select((name, i) => new TextLoader.Column(name, DataKind.Single, i))
            .Append(new TextLoader.Column(header[^1], DataKind.Boolean, header.Length - 1)).ToArray();
        var data = ml.Data.Cache(ml.Data.LoadFromTextFile(Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv"), columns, separatorChar: ',', hasHeader: true));
        var featurized = ml.Transforms.Concatenate("Features", features).Fit(data).Transform(data);
        var predictor = ml.BinaryClassification.Trainers.FastTree(header[^1], numberOfTrees: 100, numberOfLeaves: 20).Fit(featurized);
        var scored = predictor.Transform(featurized);
        Console.WriteLine($"# TreeSHAP vs CalculateFeatureContribution: FastTree binary (100 trees, 20 leaves) on breast cancer, {features.Length} features, {scored.GetRowCount() ?? 0} rows; ML.NET {typeof(MLContext).Assembly.GetName().Version}");

        var defaults = ml.Transforms.CalculateFeatureContribution(predictor).Fit(scored).Transform(scored).GetColumn<float[]>("FeatureContributions").ToList();
        var raw = ml.Transforms.CalculateFeatureContribution(predictor, numberOfPositiveContributions: features.Length, numberOfNegativeContributions: features.Length, normalize: false)
            .Fit(scored).Transform(scored).GetColumn<float[]>("FeatureContributions").ToList();
        var shap = ml.Explain().Shap().Fit(predictor, featurized);
        var explained = shap.Transform(featurized);
        var values = explained.GetColumn<float[]>(ShapTransformer.ValuesColumn).ToList();
        var scores = explained.GetColumn<float>("Score").ToList();
        double baseValue = shap.BaseValues[0];

        Console.WriteLine($"\n## Row {detailRow}: Score {scores[detailRow]:0.####}, SHAP base value {baseValue:0.####}");
        Console.WriteLine("| feature | SHAP | FCC raw | FCC default (normalized, top 10+10) |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (int j in Enumerable.Range(0, features.Length).OrderByDescending(j => Math.Abs(values[detailRow][j])).Take(12))
            Console.WriteLine($"| {features[j]} | {values[detailRow][j]:0.####} | {raw[detailRow][j]:0.####} | {defaults[detailRow][j]:0.####} |");
        Console.WriteLine($"| sum | {values[detailRow].Sum(v => (double)v):0.####} | {raw[detailRow].Sum(v => (double)v):0.####} | {defaults[detailRow].Sum(v => (double)v):0.####} |");
        Console.WriteLine($"nonzero: SHAP {values[detailRow].Count(v => v != 0)}, FCC raw {raw[detailRow].Count(v => v != 0)}, FCC default {defaults[detailRow].Count(v => v != 0)}");

        int n = scores.Count;
        double shapGap = Enumerable.Range(0, n).Max(r => Math.Abs(baseValue + values[r].Sum(v => (double)v) - scores[r]));
        var rawGaps = Enumerable.Range(0, n).Select(r => raw[r].Sum(v => (double)v) - scores[r]).ToList();
        var rawRatios = Enumerable.Range(0, n).Select(r => raw[r].Sum(v => (double)v) / (scores[r] - baseValue)).Order().ToList();
        Console.WriteLine($"\n## All {n} rows");
        Console.WriteLine($"max |base + Σ SHAP − Score| = {shapGap:G3}");
        Console.WriteLine($"Σ FCC raw − Score: mean {rawGaps.Average():0.###}, mean absolute {rawGaps.Average(Math.Abs):0.###}, range [{rawGaps.Min():0.###}, {rawGaps.Max():0.###}]");
        Console.WriteLine($"Σ FCC raw / (Score − SHAP base): median {rawRatios[n / 2]:0.###}, 10%..90% [{rawRatios[n / 10]:0.###}, {rawRatios[9 * n / 10]:0.###}]");
        var sameSign = Enumerable.Range(0, n).Average(r => Enumerable.Range(0, features.Length).Where(j => values[r][j] != 0 && raw[r][j] != 0).Select(j => Math.Sign(values[r][j]) == Math.Sign(raw[r][j]) ? 1.0 : 0.0).DefaultIfEmpty(1).Average());
        var topOverlap = Enumerable.Range(0, n).Average(r => Top(values[r], 5).Intersect(Top(raw[r], 5)).Count() / 5.0);
        var topFeature = Enumerable.Range(0, n).Average(r => Top(values[r], 1).SequenceEqual(Top(raw[r], 1)) ? 1.0 : 0.0);
        var correlation = Enumerable.Range(0, n).Average(r => Pearson(values[r], raw[r]));
        Console.WriteLine($"per row, SHAP vs FCC raw: sign agreement {sameSign:P0}, top-5 overlap {topOverlap:P0}, same top feature {topFeature:P0}, mean Pearson {correlation:0.###}");

        var meanShap = Enumerable.Range(0, features.Length).Select(j => values.Average(v => Math.Abs(v[j]))).ToArray();
        var meanFcc = Enumerable.Range(0, features.Length).Select(j => raw.Average(v => Math.Abs(v[j]))).ToArray();
        Console.WriteLine($"global (mean |value|) top 5: SHAP {string.Join(", ", Top(meanShap, 5).Select(j => features[j]))}; FCC raw {string.Join(", ", Top(meanFcc, 5).Select(j => features[j]))}");
    }

    private static IEnumerable<int> Top(IReadOnlyList<float> values, int k) => Top(values.Select(v => (double)v).ToArray(), k);

    private static IEnumerable<int> Top(double[] values, int k) => Enumerable.Range(0, values.Length).OrderByDescending(j => Math.Abs(values[j])).Take(k);

    private static double Pearson(float[] a, float[] b)
    {
        double ma = a.Average(v => (double)v), mb = b.Average(v => (double)v), ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += (a[i] - ma) * (b[i] - mb);
            aa += (a[i] - ma) * (a[i] - ma);
            bb += (b[i] - mb) * (b[i] - mb);
        }
        return aa > 0 && bb > 0 ? ab / Math.Sqrt(aa * bb) : 0;
    }
}
