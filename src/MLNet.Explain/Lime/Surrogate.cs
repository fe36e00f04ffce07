namespace MLNet.Explain.Lime;

/// <summary>A row's local surrogate: one weight per feature (0 where not selected), intercept, local prediction, weighted R².</summary>
internal sealed record SurrogateFit(double[] Weights, int[] Selected, double Intercept, double LocalPrediction, double Score);

/// <summary>
/// Fits LIME's local surrogate (the reference's <c>LimeBase.explain_instance_with_data</c>): feature selection, then a
/// weighted ridge regression with intercept on the selected design columns. Sample 0 is the explained instance.
/// </summary>
internal static class Surrogate
{
    public static SurrogateFit Fit(ReadOnlySpan<double> design, int featureCount, ReadOnlySpan<double> targets, ReadOnlySpan<double> weights,
        LimeFeatureSelection selection, int numberOfFeatures, double alpha)
    {
        var problem = WeightedLeastSquares.Prepare(design, featureCount, targets, weights);
        var origin = design[..featureCount];
        var selected = FeatureSelection.Select(selection, problem, origin, numberOfFeatures);
        var regression = problem.Solve(alpha, selected);
        return new SurrogateFit(regression.Coefficients, selected, regression.Intercept, regression.Predict(origin), regression.RSquared);
    }
}
