using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Shap;

/// <summary>Chooses the SHAP algorithm for a model and fits it: everything <see cref="ShapEstimator.Fit"/> learns.</summary>
internal sealed class ShapFitting(ModelParts parts, ShapOptions options, int seed, IDataView data)
{
    /// <summary>Rows of the fit data on which a model's scores are reproduced before its parameters are trusted.</summary>
    private const int CheckedRows = 200;

    public ShapState Fit()
    {
        var model = parts.Predictor.Model;
        var trees = TreeEnsemble.TryRead(model, parts.FeatureColumn, out var treeReason);
        string additiveReason = "";
        var additive = trees is null ? AdditiveModel.TryRead(model, parts.FeatureCount, out additiveReason) : null;
        var kind = options.Algorithm switch
        {
            ShapAlgorithmKind.Tree when trees is null => throw new NotSupportedException(
                $"SHAP algorithm Tree needs an ML.NET tree ensemble (FastTree, FastForest, LightGBM); the model's predictor is {treeReason}. Use {nameof(ShapAlgorithmKind.Kernel)} (or {nameof(ShapAlgorithmKind.Auto)}) for this model."),
            ShapAlgorithmKind.Linear when additive is null => throw new NotSupportedException(
                $"SHAP algorithm Linear needs a linear model or a GAM; the model's predictor is {(trees is not null ? trees.ModelName + ", a tree ensemble" : additiveReason)}. Use {nameof(ShapAlgorithmKind.Auto)} or {nameof(ShapAlgorithmKind.Kernel)} for this model."),
            ShapAlgorithmKind.Auto => trees is not null ? ShapAlgorithmKind.Tree : additive is not null ? ShapAlgorithmKind.Linear : ShapAlgorithmKind.Kernel,
            var chosen => chosen,
        };
        var link = kind == ShapAlgorithmKind.Tree ? trees!.Link : kind == ShapAlgorithmKind.Linear ? additive!.Link : null;

        // The probability of a calibrated binary classifier: exact through the logit when the calibrator is an affine
        // map of the margin there (Platt), by Kernel SHAP otherwise.
        (double Scale, double Offset)? logitOfMargin = null;
        if (options.Output == ShapOutput.Probability)
        {
            RequireProbability();
            if (link is not null)
            {
                logitOfMargin = options.Link == ShapLink.Logit && link.Calibrators is [{ } calibrator] ? AffineLogit(calibrator) : null;
                if (logitOfMargin is null)
                {
                    if (options.Algorithm != ShapAlgorithmKind.Auto)
                        throw new NotSupportedException(
                            $"SHAP algorithm {options.Algorithm} explains the probability only through the logit link of a Platt-calibrated model (the values of the margin, rescaled); this model {(options.Link == ShapLink.Logit ? "has another calibrator" : "is asked for the identity link")}. Use {nameof(ShapAlgorithmKind.Kernel)} or {nameof(ShapAlgorithmKind.Auto)}.");
                    kind = ShapAlgorithmKind.Kernel;
                    link = null;
                }
            }
        }

        ShapAlgorithm method;
        string explained;
        switch (kind)
        {
            case ShapAlgorithmKind.Tree:
                CheckReproduces(trees!.ModelName, trees.Outputs.Length, trees.Margins, trees.Link);
                method = FitTree(trees);
                explained = trees.Link.MarginName;
                break;
            case ShapAlgorithmKind.Linear:
                CheckReproduces(additive!.ModelName, additive.OutputCount, additive.Margins, additive.Link);
                method = LinearShap.Fit(additive, FeatureRows.Read(Background(), parts.FeatureColumnName));
                explained = additive.Link.MarginName;
                break;
            default:
                var output = options.Output == ShapOutput.Probability ? ScoreOutput.Probability : ScoreOutput.Score;
                method = new KernelShap(new FeatureScorer(parts, output), output, SummarizedBackground(), options.Link,
                    options.NumberOfSamples, options.MaxFeatures, seed);
                var column = output == ScoreOutput.Probability ? "Probability" : "Score";
                explained = options.Link == ShapLink.Logit ? $"logit({column})" : column;
                break;
        }
        if (logitOfMargin is { } affine)
        {
            method = new AffineShap(method, affine.Scale, affine.Offset);
            explained = "logit(Probability)";
        }

        var classNames = method.OutputCount > 1 ? ClassNames(method.OutputCount) : [];
        return new ShapState(kind, method, parts.FeatureColumnName, parts.FeatureNames, classNames,
            FixedClass(classNames), options.AllClasses && method.OutputCount > 1, explained);
    }

    private IDataView Background()
        => FeatureRows.Featurize(parts, options.BackgroundData ?? data, options.BackgroundData is null ? "fit data" : "background data");

    private ShapAlgorithm FitTree(TreeEnsemble trees)
        => options.TreePerturbation switch
        {
            TreeShapPerturbation.Interventional => new InterventionalTreeShap(trees, SummarizedBackground()),
            _ => new PathDependentTreeShap(trees, TreeCovers.Count(trees, FeatureRows.Read(Background(), parts.FeatureColumnName))),
        };

    private Background SummarizedBackground()
        => Shap.Background.Summarize(FeatureRows.Read(Background(), parts.FeatureColumnName), options.MaxBackgroundRows, options.BackgroundSummary, seed);

    private void RequireProbability()
    {
        var scored = parts.Predictor.GetOutputSchema(parts.Featurizer.GetOutputSchema(data.Schema));
        if (parts.Kind != PredictionKind.BinaryClassification || scored.GetColumnOrNull("Probability") is null)
            throw new ArgumentException(
                $"{nameof(ShapOptions.Output)} {nameof(ShapOutput.Probability)} needs a calibrated binary classifier; the model's predictor is a {parts.Kind} model{(parts.Kind == PredictionKind.BinaryClassification ? " without a Probability column" : "")}.");
    }

    /// <summary>
    /// logit(calibrator(margin)) as scale · margin + offset when the calibrator is affine in the logit (Platt), checked
    /// at a few margins; null otherwise.
    /// </summary>
    private static (double Scale, double Offset)? AffineLogit(Microsoft.ML.Calibrators.ICalibrator calibrator)
    {
        static double Logit(double p) => Math.Log(p / (1 - p));
        double offset = Logit(calibrator.PredictProbability(0f)), scale = Logit(calibrator.PredictProbability(1f)) - offset;
        foreach (var margin in new[] { -3f, -0.5f, 2f, 4f })
        {
            double actual = Logit(calibrator.PredictProbability(margin));
            if (!double.IsFinite(actual) || Math.Abs(actual - (scale * margin + offset)) > 1e-4 * Math.Max(1, Math.Abs(actual)))
                return null;
        }
        return double.IsFinite(scale) && double.IsFinite(offset) ? (scale, offset) : null;
    }

    /// <summary>
    /// Checks that the model as read reproduces its Score column on the first rows of the fit data, so a model ML.NET
    /// evaluates differently (a variant the readers do not know) fails at fit instead of giving wrong values.
    /// </summary>
    private void CheckReproduces(string modelName, int outputCount, MarginsOf margins, OutputLink link)
    {
        var rows = FeatureRows.Read(FeatureRows.Featurize(parts, data, "fit data"), parts.FeatureColumnName, CheckedRows).ToArray();
        if (rows.Length == 0) return;
        var scorer = new FeatureScorer(parts);
        if (scorer.OutputCount != outputCount)
            throw new NotSupportedException($"The {modelName} was read with {outputCount} outputs but scores {scorer.OutputCount}; use {nameof(ShapAlgorithmKind.Kernel)} for this model.");
        var scores = new float[rows.Length * outputCount];
        scorer.Score(rows.SelectMany(r => r).ToArray(), scores);
        var rowMargins = new double[outputCount];
        var expected = new double[outputCount];
        for (int r = 0; r < rows.Length; r++)
        {
            margins(rows[r], rowMargins);
            link.Scores(rowMargins, expected);
            for (int k = 0; k < outputCount; k++)
            {
                double actual = scores[r * outputCount + k];
                if (!(Math.Abs(actual - expected[k]) <= 1e-4 * Math.Max(1, Math.Abs(actual))) && !(double.IsNaN(actual) && double.IsNaN(expected[k])))
                    throw new NotSupportedException(
                        $"SHAP could not reproduce the scores of the {modelName}: on row {r} of the fit data its parameters give {expected[k]} for output {k}, the model scores {actual}. Use {nameof(ShapAlgorithmKind.Kernel)} for this model.");
            }
        }
    }

    private delegate void MarginsOf(ReadOnlySpan<float> features, Span<double> margins);

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
