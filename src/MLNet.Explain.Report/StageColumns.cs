namespace MLNet.Explain.Report;

/// <summary>Where a fitted SHAP stage puts its results (the SHAP stage's default column names).</summary>
/// <param name="Values">Per-row SHAP values, a float vector with slot names.</param>
/// <param name="BaseValue">Per-row base value.</param>
/// <param name="Output">Per-row explained output, which base value + Σ values must equal (the stage's <c>ShapOutput</c>).</param>
public sealed record ShapColumns(string Values = "ShapValues", string BaseValue = "ShapBaseValue", string Output = "ShapOutput");

/// <summary>
/// Where a fitted LIME stage puts its results (the LIME stage's default column names). <paramref name="Class"/>, the
/// explained class of a classifier, is read when the stage's output has it.
/// </summary>
public sealed record LimeColumns(
    string Weights = "LimeWeights", string Intercept = "LimeIntercept", string LocalPrediction = "LimeLocalPrediction", string Score = "LimeScore",
    string Class = "LimeClass");
