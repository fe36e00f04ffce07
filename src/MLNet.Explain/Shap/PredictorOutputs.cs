using System.Reflection;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Trainers;

namespace MLNet.Explain.Shap;

/// <summary>How the explained raw outputs (margins) of a model become its <c>Score</c> column.</summary>
internal enum MarginToScore
{
    /// <summary>Score = margin, per output (binary margins, regression, ranking, raw multiclass scores).</summary>
    Identity,

    /// <summary>Score = exp(margin): FastTree Tweedie and Poisson regression predict on the log scale.</summary>
    Exp,

    /// <summary>Score = softmax(margins): maximum entropy and one-versus-all softmax models.</summary>
    Softmax,

    /// <summary>Score[k] = p_k / Σ p_j with p_k the calibrated probability of class k's margin (one-versus-all with probabilities).</summary>
    NormalizedProbabilities,
}

/// <summary>The link from margins to scores, with the calibrator of each output where ML.NET applies one.</summary>
internal sealed record OutputLink(MarginToScore Kind, ICalibrator?[] Calibrators)
{
    /// <summary>What the margins are, in words, for <see cref="ShapTransformer.ExplainedOutput"/>.</summary>
    public string MarginName => Kind switch
    {
        MarginToScore.Identity => Calibrators.Length > 1 ? "Score of the class" : "Score",
        MarginToScore.Exp => "log(Score)",
        MarginToScore.Softmax => "raw score of the class (before softmax)",
        _ => "raw score of the class (before calibration and normalization)",
    };

    /// <summary>The model's Score column computed from the margins.</summary>
    public void Scores(ReadOnlySpan<double> margins, Span<double> scores)
    {
        switch (Kind)
        {
            case MarginToScore.Identity:
                margins.CopyTo(scores);
                break;
            case MarginToScore.Exp:
                for (int k = 0; k < margins.Length; k++) scores[k] = Math.Exp(margins[k]);
                break;
            case MarginToScore.Softmax:
                double max = double.NegativeInfinity;
                foreach (var m in margins) max = Math.Max(max, m);
                double total = 0;
                for (int k = 0; k < margins.Length; k++) total += scores[k] = Math.Exp(margins[k] - max);
                for (int k = 0; k < margins.Length; k++) scores[k] /= total;
                break;
            case MarginToScore.NormalizedProbabilities:
                // As ML.NET's one-versus-all: negative probabilities clamp to 0, NaN ones are left out of the sum.
                double sum = 0;
                for (int k = 0; k < margins.Length; k++)
                {
                    double p = Calibrators[k]!.PredictProbability((float)margins[k]);
                    scores[k] = p >= 0 || double.IsNaN(p) ? p : 0;
                    if (!double.IsNaN(p)) sum += scores[k];
                }
                if (sum > 0)
                    for (int k = 0; k < margins.Length; k++) scores[k] /= sum;
                break;
        }
    }
}

/// <summary>Reading the parts of ML.NET model parameters that ML.NET keeps private or wraps.</summary>
internal static class PredictorOutputs
{
    /// <summary>The model inside a calibrated model, and its calibrator.</summary>
    public static (object Model, ICalibrator? Calibrator) Uncalibrated(object model)
    {
        for (var type = model.GetType(); type is not null; type = type.BaseType)
        {
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(CalibratedModelParametersBase<,>))
                continue;
            const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
            var sub = type.GetProperty(nameof(CalibratedModelParametersBase<object, ICalibrator>.SubModel), declared)!.GetValue(model)!;
            var calibrator = (ICalibrator?)type.GetProperty(nameof(CalibratedModelParametersBase<object, ICalibrator>.Calibrator), declared)!.GetValue(model);
            return (sub, calibrator);
        }
        return (model, null);
    }

    /// <summary>
    /// The per-class models of a one-versus-all model (LightGBM multiclass among them), uncalibrated, with the link
    /// ML.NET applies to their scores. ML.NET keeps them private, so they are read by reflection.
    /// </summary>
    public static ((object Model, ICalibrator? Calibrator)[] Classes, MarginToScore Link)? OneVersusAll(OneVersusAllModelParameters ova, out string reason)
    {
        var impl = typeof(OneVersusAllModelParameters).GetField("_impl", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(ova);
        var predictors = impl?.GetType().GetProperty("Predictors")?.GetValue(impl) as Array;
        MarginToScore? link = impl?.GetType().Name switch
        {
            "ImplRaw" => MarginToScore.Identity,
            "ImplSoftmax" => MarginToScore.Softmax,
            "ImplDist" => MarginToScore.NormalizedProbabilities,
            _ => null,
        };
        if (predictors is null || link is null)
        {
            reason = "a OneVersusAllModelParameters whose per-class models could not be read (unknown ML.NET version)";
            return null;
        }
        var classes = predictors.Cast<object>().Select(Uncalibrated).ToArray();
        if (link == MarginToScore.NormalizedProbabilities && classes.FirstOrDefault(c => c.Calibrator is null) is { Model: not null } uncalibrated)
        {
            reason = $"a OneVersusAllModelParameters that normalizes probabilities, but its class model {TypeName(uncalibrated.Model)} has no calibrator";
            return null;
        }
        reason = "";
        return (classes, link.Value);
    }

    public static string TypeName(object model)
    {
        var type = model.GetType();
        return type.IsGenericType ? type.Name[..type.Name.IndexOf('`')] : type.Name;
    }
}
