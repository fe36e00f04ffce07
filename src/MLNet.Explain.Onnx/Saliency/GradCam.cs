using MLNet.Explain.Pipeline;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>How a coarse Grad-CAM map is resized to the input's height and width.</summary>
public enum Upsampling
{
    /// <summary>Bilinear with half-pixel centres (PyTorch <c>interpolate(align_corners=False)</c>, OpenCV <c>resize</c>): smooth maps.</summary>
    Bilinear,

    /// <summary>Nearest neighbour (Captum's <c>LayerAttribution.interpolate</c> default): shows the coarse cells.</summary>
    Nearest,
}

/// <summary>Options of Grad-CAM (Selvaraju et al. 2017).</summary>
public sealed class GradCamOptions : SaliencyOptions
{
    /// <summary>The coarse map [h, w] at the tensor's resolution.</summary>
    public override string OutputColumnName { get; set; } = "GradCam";

    /// <summary>The map resized to the input's height and width [H, W].</summary>
    public string UpsampledColumnName { get; set; } = "GradCamUpsampled";

    /// <summary>The [N, K, h, w] tensor whose channels are weighted; default: the output of the graph's last Conv node.</summary>
    public string? TensorName { get; set; }

    /// <summary>Keep only positive evidence (the paper's definition and pytorch-grad-cam's; Captum's LayerGradCam defaults to no ReLU).</summary>
    public bool Relu { get; set; } = true;

    public Upsampling Upsampling { get; set; } = Upsampling.Bilinear;
}

/// <summary>Grad-CAM: ReLU(Σₖ mean_hw(∂f/∂Aₖ) · Aₖ) at a convolutional tensor A, and the map upsampled to the input size.</summary>
internal sealed class GradCam(GradCamOptions options) : SaliencyMethod
{
    public override SaliencyOptions Options => options;

    public override IReadOnlyList<ExplanationColumn> Columns(SaliencyModel model)
    {
        var layer = Layer.Of(model, options.TensorName);
        return [ExplanationColumn.Tensor(options.OutputColumnName, layer.Height, layer.Width), ExplanationColumn.Tensor(options.UpsampledColumnName, layer.InputHeight, layer.InputWidth)];
    }

    public override void Explain(SaliencyModel model, SaliencyBlock block, object[][] outputs)
    {
        var layer = Layer.Of(model, options.TensorName);
        var maps = layer.Maps(model, block, options.Relu);
        for (int r = 0; r < block.Count; r++)
        {
            outputs[r][0] = maps[r];
            outputs[r][1] = layer.Upsample(maps[r], options.Upsampling);
        }
    }

    /// <summary>The tensor Grad-CAM reads and the geometry of its maps.</summary>
    internal sealed record Layer(string Tensor, int Channels, int Height, int Width, int InputHeight, int InputWidth)
    {
        public static Layer Of(SaliencyModel model, string? tensorName)
        {
            string tensor = tensorName ?? (model.ConvOutputs.Count > 0
                ? model.ConvOutputs[^1]
                : throw new ArgumentException($"The ONNX model has no Conv node, so Grad-CAM has no default tensor; set {nameof(GradCamOptions.TensorName)}."));
            if (!model.HasTensor(tensor))
                throw new ArgumentException($"Grad-CAM tensor '{tensor}' does not exist in the ONNX model. Conv outputs: {string.Join(", ", model.ConvOutputs.Select(c => $"'{c}'"))}.");
            var shape = model.RowShape(ReluGradientMode.Standard, tensor);
            if (shape.Length != 3)
                throw new ArgumentException($"Grad-CAM tensor '{tensor}' has row shape [{string.Join(",", shape)}]; a [channels, height, width] feature map was expected.");
            if (model.InputShape.Length < 2)
                throw new ArgumentException($"The model input has row shape [{string.Join(",", model.InputShape)}]; Grad-CAM needs an image-like input with height and width.");
            return new Layer(tensor, shape[0], shape[1], shape[2], model.InputShape[^2], model.InputShape[^1]);
        }

        /// <summary>The coarse maps of every row of the block.</summary>
        public float[][] Maps(SaliencyModel model, SaliencyBlock block, bool relu)
        {
            var maps = new float[block.Count][];
            int plane = Height * Width;
            model.Gradients(ReluGradientMode.Standard, Tensor, block.Count,
                (r, input, cotangent) => { block[r].Input.CopyTo(input); block[r].Cotangent.CopyTo(cotangent); },
                (r, result) =>
                {
                    var activation = result.Value(Tensor);
                    var gradient = result.Gradient(Tensor);
                    var map = new double[plane];
                    for (int k = 0; k < Channels; k++)
                    {
                        double weight = 0;
                        for (int i = 0; i < plane; i++) weight += gradient[k * plane + i];
                        weight /= plane;
                        for (int i = 0; i < plane; i++) map[i] += weight * activation[k * plane + i];
                    }
                    maps[r] = map.Select(v => (float)(relu ? Math.Max(0, v) : v)).ToArray();
                });
            return maps;
        }

        public float[] Upsample(float[] map, Upsampling mode)
        {
            var result = new float[InputHeight * InputWidth];
            double scaleY = (double)Height / InputHeight, scaleX = (double)Width / InputWidth;
            for (int y = 0; y < InputHeight; y++)
                for (int x = 0; x < InputWidth; x++)
                {
                    if (mode == Upsampling.Nearest)
                    {
                        int sy = Math.Min((int)Math.Floor(y * scaleY), Height - 1), sx = Math.Min((int)Math.Floor(x * scaleX), Width - 1);
                        result[y * InputWidth + x] = map[sy * Width + sx];
                        continue;
                    }
                    double fy = Math.Max(0, (y + 0.5) * scaleY - 0.5), fx = Math.Max(0, (x + 0.5) * scaleX - 0.5);
                    int y0 = Math.Min((int)fy, Height - 1), x0 = Math.Min((int)fx, Width - 1);
                    int y1 = Math.Min(y0 + 1, Height - 1), x1 = Math.Min(x0 + 1, Width - 1);
                    double dy = fy - y0, dx = fx - x0;
                    result[y * InputWidth + x] = (float)(
                        (1 - dy) * ((1 - dx) * map[y0 * Width + x0] + dx * map[y0 * Width + x1]) +
                        dy * ((1 - dx) * map[y1 * Width + x0] + dx * map[y1 * Width + x1]));
                }
            return result;
        }
    }
}
