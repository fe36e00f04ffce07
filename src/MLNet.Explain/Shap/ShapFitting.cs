using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Shap;

/// <summary>Chooses the SHAP algorithm for a model and fits it: everything <see cref="ShapEstimator.Fit"/> learns.</summary>
internal sealed class ShapFitting(ModelParts parts, ShapOptions options, int seed, IDataView data)
{
    /// <summary>Rows of the fit data on which a tree model's scores are reproduced before its trees are trusted.</summary>
    private const int CheckedRows = 200;

    public ShapState Fit()
    {
        var trees = TreeEnsemble.TryRead(parts.Predictor.Model, parts.FeatureColumn, out var treeReason);
        var kind = options.Algorithm;
        if (kind == ShapAlgorithmKind.Tree && trees is null)
            throw new NotSupportedException($"SHAP algorithm Tree needs an ML.NET tree ensemble (FastTree, FastForest, LightGBM); the model's predictor is {treeReason}. Use {nameof(ShapAlgorithmKind.Kernel)} (or {nameof(ShapAlgorithmKind.Auto)}) for this model.");
        if (kind == ShapAlgorithmKind.Auto)
            kind = trees is not null ? ShapAlgorithmKind.Tree : throw new NotSupportedException($"No SHAP algorithm for {treeReason}.");

        ShapAlgorithm method;
        string explained;
        switch (kind)
        {
            case ShapAlgorithmKind.Tree:
                CheckReproduces(trees!);
                method = FitTree(trees!);
                explained = RawOutputName(trees!.Link);
                break;
            default:
                throw new NotSupportedException($"SHAP algorithm {kind} is not available.");
        }

        var classNames = method.OutputCount > 1 ? ClassNames(method.OutputCount) : [];
        return new ShapState(kind, method, parts.FeatureColumnName, parts.FeatureNames, classNames,
            FixedClass(classNames), options.AllClasses && method.OutputCount > 1, explained);
    }

    private ShapAlgorithm FitTree(TreeEnsemble trees)
    {
        var background = FeatureRows.Featurize(parts, options.BackgroundData ?? data, options.BackgroundData is null ? "fit data" : "background data");
        var rows = FeatureRows.Read(background, parts.FeatureColumnName);
        return options.TreePerturbation switch
        {
            TreeShapPerturbation.Interventional => new InterventionalTreeShap(trees, SummarizedBackground(rows)),
            _ => new PathDependentTreeShap(trees, TreeCovers.Count(trees, rows)),
        };
    }

    private Background SummarizedBackground(IEnumerable<float[]> rows)
        => Background.Summarize(rows, options.MaxBackgroundRows, options.BackgroundSummary, seed);

    /// <summary>
    /// Checks that the trees as read reproduce the model's Score column on the first rows of the fit data, so a model
    /// ML.NET evaluates differently (a variant this reader does not know) fails at fit instead of giving wrong values.
    /// </summary>
    private void CheckReproduces(TreeEnsemble trees)
    {
        var featurized = FeatureRows.Featurize(parts, data, "fit data");
        var rows = FeatureRows.Read(featurized, parts.FeatureColumnName, CheckedRows).ToArray();
        if (rows.Length == 0) return;
        var scorer = new FeatureScorer(parts);
        var scores = new float[rows.Length * scorer.OutputCount];
        scorer.Score(rows.SelectMany(r => r).ToArray(), scores);
        if (scorer.OutputCount != trees.Outputs.Length)
            throw new NotSupportedException($"The {trees.ModelName} has {trees.Outputs.Length} tree ensembles but {scorer.OutputCount} scores; TreeSHAP cannot explain it. Use {nameof(ShapAlgorithmKind.Kernel)}.");
        var margins = new double[trees.Outputs.Length];
        var expected = new double[trees.Outputs.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            trees.Margins(rows[r], margins);
            trees.Scores(margins, expected);
            for (int k = 0; k < expected.Length; k++)
            {
                double actual = scores[r * expected.Length + k];
                if (!(Math.Abs(actual - expected[k]) <= 1e-4 * Math.Max(1, Math.Abs(actual))) && !(double.IsNaN(actual) && double.IsNaN(expected[k])))
                    throw new NotSupportedException(
                        $"TreeSHAP could not reproduce the scores of the {trees.ModelName}: on row {r} of the fit data its trees give {expected[k]} for output {k}, the model scores {actual}. Use {nameof(ShapAlgorithmKind.Kernel)} for this model.");
            }
        }
    }

    private static string RawOutputName(MarginToScore link) => link switch
    {
        MarginToScore.Identity => "Score",
        MarginToScore.Exp => "log(Score)",
        MarginToScore.OneVersusAllRaw => "Score of the class",
        _ => "margin of the class (the one-versus-all model's raw score before normalization)",
    };

    /// <summary>The class names of a multiclass model: the slot names of its Score column, or Class 0..K-1.</summary>
    private IReadOnlyList<string> ClassNames(int count)
    {
        var score = parts.Predictor.GetOutputSchema(parts.Featurizer.GetOutputSchema(data.Schema)).GetColumnOrNull("Score");
        if (score is { Type: VectorDataViewType { Size: var size } } column && size == count
            && column.Annotations.Schema.GetColumnOrNull(SlotNames.SlotNamesKind) is not null)
            return SlotNames.Of(column);
        return Enumerable.Range(0, count).Select(k => $"Class {k}").ToArray();
    }

    private int? FixedClass(IReadOnlyList<string> classNames)
    {
        if (options.ClassName is { } name)
        {
            if (classNames.Count == 0)
                throw new ArgumentException($"{nameof(ShapOptions.ClassName)} '{name}' was given, but the model has a single output.");
            int index = classNames.ToList().IndexOf(name);
            return index >= 0 ? index
                : throw new ArgumentException($"{nameof(ShapOptions.ClassName)} '{name}' is not a class of the model; its classes are {string.Join(", ", classNames)}.");
        }
        if (options.ClassIndex is { } classIndex)
        {
            if (classNames.Count == 0)
                throw new ArgumentException($"{nameof(ShapOptions.ClassIndex)} {classIndex} was given, but the model has a single output.");
            return classIndex >= 0 && classIndex < classNames.Count ? classIndex
                : throw new ArgumentOutOfRangeException(nameof(options), classIndex, $"{nameof(ShapOptions.ClassIndex)} must be in [0, {classNames.Count}).");
        }
        return null;
    }
}
