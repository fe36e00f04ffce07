namespace MLNet.Explain.Onnx.Saliency;

/// <summary>Which values of the ONNX model output are explained.</summary>
public enum SaliencyOutput
{
    /// <summary>The output as the model produces it (logits for classifiers): linear in the last layer, no saturation.</summary>
    Logits,

    /// <summary>Softmax of the output row: attributions of a class probability.</summary>
    Probabilities,
}

/// <summary>Options every gradient saliency stage shares: the ONNX model, the column holding its input, the target and the batching.</summary>
public abstract class SaliencyOptions
{
    /// <summary>Path of the ONNX model whose input is explained (the same file an <c>ApplyOnnxModel</c> stage of the pipeline runs).</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The column holding the model input for each row: a float vector with as many values as one row of the ONNX input (e.g. the output of <c>ExtractPixels</c>).</summary>
    public string InputColumnName { get; set; } = "input";

    /// <summary>The ONNX input that receives <see cref="InputColumnName"/>; default: the model's only input.</summary>
    public string? OnnxInputName { get; set; }

    /// <summary>The ONNX output that is explained; default: the model's first output.</summary>
    public string? OnnxOutputName { get; set; }

    /// <summary>Which output value of each row is explained; default: the top predicted class.</summary>
    public SaliencyTarget Target { get; set; } = SaliencyTarget.TopPrediction;

    /// <summary>Explain the raw output (logits, default) or its softmax probabilities.</summary>
    public SaliencyOutput Output { get; set; } = SaliencyOutput.Logits;

    /// <summary>
    /// When the ONNX model only computes features and the pipeline's ML.NET linear predictor (multiclass or binary linear trainer) is trained on
    /// them unchanged, explain the predictor's scores: the predictor's weights and biases are appended to the ONNX graph, so targets index the
    /// predictor's classes and the gradient that reaches the pixels is the predictor's weight vector of the target class pulled back through the network.
    /// </summary>
    public bool ExplainPredictorHead { get; set; }

    /// <summary>
    /// Rows per ONNX Runtime run. Methods that evaluate many perturbed copies of a row (Integrated Gradients steps, SmoothGrad samples,
    /// occlusion windows) stream those copies through runs of this many rows, so memory stays bounded by this number whatever the step count.
    /// </summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>When CUDA is requested but unavailable, run on the CPU instead of failing.</summary>
    public bool AllowCpuFallback { get; set; }

    /// <summary>Sizes of symbolic non-batch input dimensions (by dim_param name) for models exported with dynamic sizes.</summary>
    public IDictionary<string, long> Dimensions { get; } = new Dictionary<string, long>();

    /// <summary>Seed of the random perturbations (SmoothGrad noise, noise baselines); default: drawn from the MLContext's seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Name of the attribution column the stage adds.</summary>
    public abstract string OutputColumnName { get; set; }
}

/// <summary>How each row's explained output value is chosen.</summary>
public sealed class SaliencyTarget
{
    private SaliencyTarget(SaliencyTargetKind kind, int index = -1, string? column = null)
    {
        Kind = kind;
        FixedIndex = index;
        ColumnName = column;
    }

    /// <summary>The output with the largest value at the row's input (the predicted class).</summary>
    public static SaliencyTarget TopPrediction { get; } = new(SaliencyTargetKind.TopPrediction);

    /// <summary>The same output index for every row.</summary>
    public static SaliencyTarget Index(int index)
        => index >= 0 ? new(SaliencyTargetKind.FixedIndex, index) : throw new ArgumentOutOfRangeException(nameof(index), index, "A target index cannot be negative.");

    /// <summary>
    /// The index held by a column of each row: an integer, a float holding an integer, or a key (such as ML.NET's <c>PredictedLabel</c>;
    /// key values count from 1, so key k explains output k − 1).
    /// </summary>
    public static SaliencyTarget IndexColumn(string columnName) => new(SaliencyTargetKind.IndexColumn, column: Require(columnName));

    /// <summary>
    /// An upstream gradient held by a float vector column (one value per output value): explains the weighted sum of the outputs with these weights,
    /// e.g. the difference of two classes or a downstream model's sensitivities.
    /// </summary>
    public static SaliencyTarget UpstreamGradient(string columnName) => new(SaliencyTargetKind.UpstreamGradient, column: Require(columnName));

    internal SaliencyTargetKind Kind { get; }

    internal int FixedIndex { get; }

    internal string? ColumnName { get; }

    public override string ToString() => Kind switch
    {
        SaliencyTargetKind.FixedIndex => $"index {FixedIndex}",
        SaliencyTargetKind.TopPrediction => "top prediction",
        _ => $"{Kind} from column '{ColumnName}'",
    };

    private static string Require(string name)
        => string.IsNullOrWhiteSpace(name) ? throw new ArgumentException("A target column needs a name.", nameof(name)) : name;
}

internal enum SaliencyTargetKind
{
    TopPrediction,
    FixedIndex,
    IndexColumn,
    UpstreamGradient,
}
