using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Shap;

/// <summary>
/// A model whose raw output is a sum of one term per feature slot: <c>margin_k(x) = bias_k + Σ_i term_k,i(x_i)</c>.
/// Linear models (<c>term = w·x</c>) and GAMs (<c>term = the shape function's effect for x's bin</c>) read from ML.NET's
/// public parameters.
/// </summary>
internal sealed class AdditiveModel
{
    private readonly double[][]? _weights;
    private readonly GamShape?[]? _shapes;

    private AdditiveModel(string modelName, int featureCount, double[] bias, double[][]? weights, GamShape?[]? shapes, OutputLink link)
    {
        ModelName = modelName;
        FeatureCount = featureCount;
        Bias = bias;
        _weights = weights;
        _shapes = shapes;
        Link = link;
    }

    public string ModelName { get; }
    public int FeatureCount { get; }
    public double[] Bias { get; }
    public OutputLink Link { get; }
    public int OutputCount => Bias.Length;

    /// <summary>The term of slot <paramref name="slot"/> in output <paramref name="output"/> for the value <paramref name="x"/>.</summary>
    public double Term(int output, int slot, float x)
        => _weights is not null
            ? _weights[output][slot] * x
            : _shapes![slot]?.Effect(x) ?? 0;

    public void Margins(ReadOnlySpan<float> features, Span<double> margins)
    {
        for (int k = 0; k < OutputCount; k++)
        {
            double sum = Bias[k];
            for (int i = 0; i < FeatureCount; i++) sum += Term(k, i, features[i]);
            margins[k] = sum;
        }
    }

    /// <summary>
    /// Reads a linear model (binary, regression, Poisson, maximum entropy, linear multiclass, one-versus-all of linear
    /// models) or a GAM; null with the reason for other models.
    /// </summary>
    public static AdditiveModel? TryRead(object modelParameters, int featureCount, out string reason)
    {
        var (model, calibrator) = PredictorOutputs.Uncalibrated(modelParameters);
        string name = PredictorOutputs.TypeName(model);
        switch (model)
        {
            case LinearModelParameters linear:
                reason = "";
                return new AdditiveModel(name, featureCount, [linear.Bias], [Weights(linear.Weights, featureCount)], null,
                    new OutputLink(model is PoissonRegressionModelParameters ? MarginToScore.Exp : MarginToScore.Identity, [calibrator]));
            case LinearMulticlassModelParametersBase multiclass:
                VBuffer<float>[] classWeights = [];
                multiclass.GetWeights(ref classWeights, out int classes);
                var biases = multiclass.GetBiases().Select(b => (double)b).ToArray();
                reason = "";
                return new AdditiveModel(name, featureCount, biases,
                    classWeights.Take(classes).Select(w => Weights(w.DenseValues().ToArray(), featureCount)).ToArray(), null,
                    new OutputLink(model is MaximumEntropyModelParameters ? MarginToScore.Softmax : MarginToScore.Identity, new Microsoft.ML.Calibrators.ICalibrator?[classes]));
            case GamModelParametersBase gam:
                return ReadGam(gam, name, featureCount, calibrator, out reason);
            case OneVersusAllModelParameters ova:
                if (PredictorOutputs.OneVersusAll(ova, out reason) is not var (members, ovaLink))
                    return null;
                var weights = new double[members.Length][];
                var bias = new double[members.Length];
                for (int k = 0; k < members.Length; k++)
                {
                    if (members[k].Model is not LinearModelParameters member)
                    {
                        reason = $"a OneVersusAllModelParameters whose class {k} model is {PredictorOutputs.TypeName(members[k].Model)}, not a linear model";
                        return null;
                    }
                    weights[k] = Weights(member.Weights, featureCount);
                    bias[k] = member.Bias;
                }
                return new AdditiveModel($"{nameof(OneVersusAllModelParameters)} of {PredictorOutputs.TypeName(members[0].Model)}", featureCount, bias, weights, null,
                    new OutputLink(ovaLink, members.Select(m => m.Calibrator).ToArray()));
            default:
                reason = $"{name}, neither a linear model nor a GAM";
                return null;
        }
    }

    private static double[] Weights(IReadOnlyList<float> weights, int featureCount)
    {
        if (weights.Count > featureCount)
            throw new ArgumentException($"The linear model has {weights.Count} weights, but the feature vector has {featureCount} slots.");
        var result = new double[featureCount];
        for (int i = 0; i < weights.Count; i++) result[i] = weights[i];
        return result;
    }

    private static AdditiveModel? ReadGam(GamModelParametersBase gam, string name, int featureCount, Microsoft.ML.Calibrators.ICalibrator? calibrator, out string reason)
    {
        // ML.NET keeps the map from shape functions to input slots private (it drops slots without a shape function).
        var map = typeof(GamModelParametersBase).GetField("_shapeToInputMap", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(gam) as int[];
        if (map is null && gam.NumberOfShapeFunctions != featureCount)
        {
            reason = $"a {name} whose shape functions could not be mapped to its {featureCount} feature slots (unknown ML.NET version)";
            return null;
        }
        var shapes = new GamShape?[featureCount];
        for (int s = 0; s < gam.NumberOfShapeFunctions; s++)
        {
            int slot = map?[s] ?? s;
            if ((uint)slot >= (uint)featureCount)
            {
                reason = $"a {name} with a shape function on slot {slot}, but the feature vector has {featureCount} slots";
                return null;
            }
            shapes[slot] = new GamShape(gam.GetBinUpperBounds(s).ToArray(), gam.GetBinEffects(s).ToArray());
        }
        reason = "";
        return new AdditiveModel(name, featureCount, [gam.Bias], null, shapes, new OutputLink(MarginToScore.Identity, [calibrator]));
    }

    /// <summary>A GAM shape function: the effect of the first bin whose upper bound is ≥ x (NaN falls in bin 0, as in ML.NET).</summary>
    private sealed record GamShape(double[] UpperBounds, double[] Effects)
    {
        public double Effect(double x)
        {
            if (double.IsNaN(x) || x <= UpperBounds[0]) return Effects[0];
            int lower = 0, upper = UpperBounds.Length - 1;
            while (upper - lower > 1)
            {
                int middle = (lower + upper) / 2;
                if (x <= UpperBounds[middle]) upper = middle;
                else lower = middle;
            }
            return Effects[upper];
        }
    }
}

/// <summary>
/// Exact SHAP of an additive model with independent features: <c>φ_i = term_i(x_i) − E[term_i]</c>, the expectation
/// over the background data (all of it, not a summary). For a linear model that is <c>w_i (x_i − E[x_i])</c>. Values
/// that are NaN in the background are left out of a slot's expectation.
/// </summary>
internal sealed class LinearShap : RowShapAlgorithm<object>
{
    public const string Name = "Additive";

    private readonly double[][] _expectedTerms;

    public LinearShap(AdditiveModel model, double[][] expectedTerms)
    {
        Model = model;
        _expectedTerms = expectedTerms;
        BaseValues = Enumerable.Range(0, model.OutputCount).Select(k => model.Bias[k] + expectedTerms[k].Sum()).ToArray();
    }

    public AdditiveModel Model { get; }
    public override int FeatureCount => Model.FeatureCount;
    public override int OutputCount => Model.OutputCount;
    public override IReadOnlyList<double> BaseValues { get; }
    protected override int RowsPerTask => 256;
    protected override string SavedName => Name;

    /// <summary>Fits the expected term of every slot over <paramref name="background"/>.</summary>
    public static LinearShap Fit(AdditiveModel model, IEnumerable<float[]> background)
    {
        var sums = new double[model.OutputCount][];
        for (int k = 0; k < sums.Length; k++) sums[k] = new double[model.FeatureCount];
        var counts = new long[model.FeatureCount];
        foreach (var row in background)
            for (int i = 0; i < model.FeatureCount; i++)
            {
                if (float.IsNaN(row[i])) continue;
                counts[i]++;
                for (int k = 0; k < sums.Length; k++) sums[k][i] += model.Term(k, i, row[i]);
            }
        if (counts.All(c => c == 0) && model.FeatureCount > 0)
            throw new ArgumentException("The background data has no rows (or only NaN values); linear SHAP needs the features' expected values.");
        return new LinearShap(model, sums.Select(s => s.Select((sum, i) => counts[i] > 0 ? sum / counts[i] : 0).ToArray()).ToArray());
    }

    protected override object CreateScratch() => this;

    protected override void ExplainRange(IReadOnlyList<float[]> rows, int from, int to, int[] outputs, double[] values, double[] explained, object scratch)
    {
        int width = OutputCount * FeatureCount;
        for (int r = from; r < to; r++)
        {
            var row = rows[r];
            for (int k = 0; k < OutputCount; k++)
            {
                if (outputs[r] >= 0 && outputs[r] != k) continue;
                var phi = values.AsSpan(r * width + k * FeatureCount, FeatureCount);
                double margin = Model.Bias[k];
                for (int i = 0; i < FeatureCount; i++)
                {
                    double term = Model.Term(k, i, row[i]);
                    margin += term;
                    phi[i] = term - _expectedTerms[k][i];
                }
                explained[r * OutputCount + k] = margin;
            }
        }
    }

    protected override void SaveCore(BinaryWriter writer)
    {
        writer.Write(_expectedTerms.Length);
        foreach (var terms in _expectedTerms) writer.WriteDoubles(terms);
    }

    public static LinearShap Load(BinaryReader reader, ModelParts parts)
    {
        var model = AdditiveModel.TryRead(parts.Predictor.Model, parts.FeatureCount, out var reason)
            ?? throw new InvalidDataException($"The saved SHAP stage explains a linear model or GAM, but the loaded model's predictor is {reason}.");
        var expected = new double[reader.ReadInt32()][];
        for (int k = 0; k < expected.Length; k++) expected[k] = reader.ReadDoubles();
        if (expected.Length != model.OutputCount || expected.Any(e => e.Length != model.FeatureCount))
            throw new InvalidDataException("The saved expected terms of the SHAP stage do not match the loaded model's outputs and slots.");
        return new LinearShap(model, expected);
    }
}
