using Microsoft.ML;

namespace MLNet.Explain.Shap;

/// <summary>Which SHAP algorithm explains the model.</summary>
public enum ShapAlgorithmKind
{
    /// <summary>
    /// Exact TreeSHAP for tree ensembles (FastTree, FastForest, LightGBM), exact linear SHAP for linear models and GAMs,
    /// Kernel SHAP for every other model (and whenever the explained output needs it, see <see cref="ShapOptions.Output"/>).
    /// </summary>
    Auto,

    /// <summary>Exact TreeSHAP; fails for models that are not ML.NET tree ensembles.</summary>
    Tree,

    /// <summary>Exact SHAP of a linear model or GAM with independent features; fails for other models.</summary>
    Linear,

    /// <summary>Kernel SHAP (model-agnostic weighted regression on feature coalitions).</summary>
    Kernel,
}

/// <summary>How TreeSHAP treats features that are left out of a coalition.</summary>
public enum TreeShapPerturbation
{
    /// <summary>
    /// Path-dependent (Lundberg et al. 2020, Algorithm 2): an unknown split follows both branches weighted by how much
    /// data went each way (the covers, counted on the fit data).
    /// </summary>
    PathDependent,

    /// <summary>
    /// Interventional: an unknown feature takes its value from each background row in turn (the same game Kernel SHAP
    /// estimates), averaged over the background.
    /// </summary>
    Interventional,
}

/// <summary>The model output whose SHAP values add up.</summary>
public enum ShapOutput
{
    /// <summary>
    /// The raw output: the margin of a binary classifier (its Score), the prediction of a regression or ranking model,
    /// the per-class margin of a multiclass model. For FastTree Tweedie and Poisson regression the raw output is the
    /// log of the Score. Kernel SHAP explains the model's Score column as ML.NET produces it.
    /// </summary>
    Raw,

    /// <summary>
    /// The calibrated probability of a binary classifier (its Probability column), through <see cref="ShapOptions.Link"/>:
    /// with <see cref="ShapLink.Logit"/> the values add up to logit(probability), exactly from the tree or linear values when
    /// the calibrator is Platt's (an affine map of the margin); otherwise Kernel SHAP estimates them.
    /// </summary>
    Probability,
}

/// <summary>The link through which Kernel SHAP (and probability outputs) make values additive.</summary>
public enum ShapLink
{
    /// <summary>Values add up to the output itself.</summary>
    Identity,

    /// <summary>Values add up to log(p / (1 − p)) of the output, which must lie in (0, 1).</summary>
    Logit,
}

/// <summary>How Kernel SHAP and interventional TreeSHAP summarize the background data.</summary>
public enum BackgroundSummary
{
    /// <summary>Weighted k-means: at most <see cref="ShapOptions.MaxBackgroundRows"/> centroids weighted by their cluster sizes.</summary>
    KMeans,

    /// <summary>A uniform sample of at most <see cref="ShapOptions.MaxBackgroundRows"/> rows.</summary>
    Sample,
}

/// <summary>Options of <c>mlContext.Explain().Shap(options)</c>.</summary>
public sealed class ShapOptions
{
    /// <summary>The algorithm; <see cref="ShapAlgorithmKind.Auto"/> picks the exact one the model allows.</summary>
    public ShapAlgorithmKind Algorithm { get; set; } = ShapAlgorithmKind.Auto;

    /// <summary>Path-dependent (default) or interventional TreeSHAP.</summary>
    public TreeShapPerturbation TreePerturbation { get; set; } = TreeShapPerturbation.PathDependent;

    /// <summary>The explained output: raw (default) or the calibrated probability of a binary classifier.</summary>
    public ShapOutput Output { get; set; } = ShapOutput.Raw;

    /// <summary>Identity (default) or logit link for Kernel SHAP and <see cref="ShapOutput.Probability"/>.</summary>
    public ShapLink Link { get; set; } = ShapLink.Identity;

    /// <summary>
    /// Data in the model's input schema that defines "absent" features: the background of Kernel SHAP and interventional
    /// TreeSHAP, the means of linear SHAP and the covers of path-dependent TreeSHAP. Null: the data the stage is fitted on.
    /// </summary>
    public IDataView? BackgroundData { get; set; }

    /// <summary>Background rows Kernel SHAP and interventional TreeSHAP keep (default 100).</summary>
    public int MaxBackgroundRows { get; set; } = 100;

    /// <summary>How the background is reduced to <see cref="MaxBackgroundRows"/> rows (default weighted k-means).</summary>
    public BackgroundSummary BackgroundSummary { get; set; } = BackgroundSummary.KMeans;

    /// <summary>Kernel SHAP's budget of coalitions per row; null: 2M + 2048 for M varying features.</summary>
    public int? NumberOfSamples { get; set; }

    /// <summary>
    /// Kernel SHAP's L1 feature selection (<c>num_features(k)</c>): keep only the k features that enter a LARS path
    /// first; the others get 0. Null: no selection.
    /// </summary>
    public int? MaxFeatures { get; set; }

    /// <summary>Multiclass: the class whose values <c>ShapValues</c> holds, by name. Null with no <see cref="ClassIndex"/>: the predicted class.</summary>
    public string? ClassName { get; set; }

    /// <summary>Multiclass: the class whose values <c>ShapValues</c> holds, by index.</summary>
    public int? ClassIndex { get; set; }

    /// <summary>Multiclass: also output every class's values (<c>ShapValuesAllClasses</c>, classes x features).</summary>
    public bool AllClasses { get; set; }

    /// <summary>Seed of Kernel SHAP's sampling and the background summary; null: drawn from the MLContext.</summary>
    public int? Seed { get; set; }
}
