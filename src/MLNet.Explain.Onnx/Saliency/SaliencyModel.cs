using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNet.Explain.Onnx.Gradients;
using Onnx;

namespace MLNet.Explain.Onnx.Saliency;

/// <summary>
/// The ONNX side of every saliency stage: the model prepared for explanation (an optional ML.NET linear head and softmax appended, the explained
/// output as its only output), a forward-only session and gradient sessions (per Relu rule and differentiated tensor), and the streaming of
/// "expanded" rows (path steps, noisy samples, occluded copies) through runs of at most <see cref="BatchSize"/> rows, so memory is bounded by the
/// batch size and not by rows × steps.
/// </summary>
internal sealed class SaliencyModel : IDisposable
{
    private const string ProbabilitiesName = "saliency_probabilities";
    private const string HeadScoresName = "saliency_predictor_scores";

    private readonly ModelProto _model;
    private readonly SaliencyOptions _options;
    private readonly InferenceSession _forward;
    private readonly long[] _forwardOutputShape;
    private readonly ConcurrentDictionary<(ReluGradientMode, string), Lazy<GradientSession>> _gradients = new();

    public SaliencyModel(SaliencyOptions options, LinearHead? head)
    {
        _options = options;
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, $"{nameof(SaliencyOptions.BatchSize)} must be at least 1.");
        if (string.IsNullOrWhiteSpace(options.ModelPath)) throw new ArgumentException($"{nameof(SaliencyOptions.ModelPath)} must name the ONNX model file to explain.", nameof(options));
        if (!File.Exists(options.ModelPath)) throw new FileNotFoundException($"ONNX model '{options.ModelPath}' does not exist.", options.ModelPath);
        ModelProto source;
        try
        {
            source = ModelProto.Parser.ParseFrom(File.ReadAllBytes(options.ModelPath));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{options.ModelPath}' is not an ONNX model (protobuf ModelProto).", e);
        }

        var graph = source.Graph ?? throw new InvalidDataException($"ONNX model '{options.ModelPath}' has no graph.");
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet();
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToList();
        if (inputs.Count != 1)
            throw new NotSupportedException($"ONNX model '{options.ModelPath}' has {inputs.Count} inputs ({string.Join(", ", inputs)}); saliency stages explain models with one input.");
        InputName = options.OnnxInputName ?? inputs[0];
        if (InputName != inputs[0])
            throw new ArgumentException($"ONNX model '{options.ModelPath}' has no input '{InputName}'; its input is '{inputs[0]}'.", nameof(options));

        string output = options.OnnxOutputName ?? graph.Output[0].Name;
        if (!graph.Output.Any(o => o.Name == output) && !graph.Node.Any(n => n.Output.Contains(output)))
            throw new ArgumentException($"ONNX model '{options.ModelPath}' has no tensor '{output}' to explain; its outputs are {string.Join(", ", graph.Output.Select(o => o.Name))}.", nameof(options));
        ModelOutputName = output;

        _model = source;
        if (head is not null) output = AppendHead(head, output);
        if (options.Output == SaliencyOutput.Probabilities) output = Append("Softmax", Append("Flatten", output, "saliency_flat_output", ("axis", 1L)), ProbabilitiesName, ("axis", 1L));
        OutputName = output;
        graph.Output.Clear();
        graph.Output.Add(FloatValueInfo(OutputName));

        var forwardModel = _model.Clone();
        var normalized = GraphNormalizer.Normalize(forwardModel, options.BatchSize, new Dictionary<string, long>(options.Dimensions));
        var inputShape = normalized.Shape(InputName);
        var outputShape = normalized.Shape(OutputName);
        if (inputShape[0] != options.BatchSize || outputShape.Length == 0 || outputShape[0] != options.BatchSize)
            throw new NotSupportedException($"ONNX model '{options.ModelPath}': input '{InputName}' [{string.Join(",", inputShape)}] and output '{OutputName}' [{string.Join(",", outputShape)}] must carry the batch in their first axis.");
        InputShape = inputShape[1..].Select(d => (int)d).ToArray();
        InputSize = InputShape.Aggregate(1, (a, b) => a * b);
        OutputSize = (int)outputShape[1..].Aggregate(1L, (a, b) => a * b);
        _forwardOutputShape = outputShape;
        _forward = CreateForwardSession(forwardModel.ToByteArray());
    }

    /// <summary>Rows per ONNX Runtime run.</summary>
    public int BatchSize => _options.BatchSize;

    public string InputName { get; }

    /// <summary>The explained ONNX output of the original model (before an appended head or softmax).</summary>
    public string ModelOutputName { get; }

    /// <summary>The explained tensor of the prepared graph: the model output, the head's scores or the softmax probabilities.</summary>
    public string OutputName { get; }

    /// <summary>Shape of one row of the model input (no batch axis), e.g. [3, 224, 224].</summary>
    public int[] InputShape { get; }

    public int InputSize { get; }

    /// <summary>Values per row of the explained output (classes).</summary>
    public int OutputSize { get; }

    /// <summary>Called with the row count of every ONNX Runtime run (tests check the batch bound with it).</summary>
    internal Action<int>? RunObserver { get; set; }

    /// <summary>Names of the tensors produced by Conv nodes, in graph order (Grad-CAM's default is the last).</summary>
    public IReadOnlyList<string> ConvOutputs => _model.Graph.Node.Where(n => n.OpType == "Conv").Select(n => n.Output[0]).ToList();

    /// <summary>Whether the graph has a tensor with this name (a node output or the input).</summary>
    public bool HasTensor(string name) => name == InputName || _model.Graph.Node.Any(n => n.Output.Contains(name));

    /// <summary>Shape of one row of a tensor that gradients are taken for (no batch axis).</summary>
    public int[] RowShape(ReluGradientMode mode, string tensor) => Gradients(mode, tensor).RowShape(tensor).Select(d => (int)d).ToArray();

    /// <summary>Forward passes of <paramref name="count"/> rows: <paramref name="fill"/> writes row i's input, <paramref name="consume"/> reads its output.</summary>
    public void Forward(int count, Action<int, Span<float>> fill, Action<int, ReadOnlySpan<float>> consume)
    {
        int batch = BatchSize;
        var input = new float[batch * InputSize];
        var output = new float[batch * OutputSize];
        long[] inputShape = [batch, .. InputShape.Select(d => (long)d)];
        for (int start = 0; start < count; start += batch)
        {
            int rows = Math.Min(batch, count - start);
            Array.Clear(input);
            for (int i = 0; i < rows; i++) fill(start + i, input.AsSpan(i * InputSize, InputSize));
            using (var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(), inputShape))
            using (var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output.AsMemory(), _forwardOutputShape))
            using (var runOptions = new RunOptions())
                _forward.Run(runOptions, [InputName], [inputValue], [OutputName], [outputValue]);
            RunObserver?.Invoke(rows);
            for (int i = 0; i < rows; i++) consume(start + i, output.AsSpan(i * OutputSize, OutputSize));
        }
    }

    /// <summary>
    /// Forward+backward passes of <paramref name="count"/> rows, <see cref="BatchSize"/> per run: <paramref name="fill"/> writes row i's input and
    /// the upstream gradient of the explained output (zeroed beforehand); <paramref name="consume"/> reads the row's gradients and values.
    /// </summary>
    public void Gradients(ReluGradientMode mode, string tensor, int count, Action<int, Span<float>, Span<float>> fill, Action<int, GradientRow> consume)
    {
        var session = Gradients(mode, tensor);
        int batch = BatchSize;
        var input = new float[batch * InputSize];
        var cotangent = new float[batch * OutputSize];
        for (int start = 0; start < count; start += batch)
        {
            int rows = Math.Min(batch, count - start);
            Array.Clear(input);
            Array.Clear(cotangent);
            for (int i = 0; i < rows; i++) fill(start + i, input.AsSpan(i * InputSize, InputSize), cotangent.AsSpan(i * OutputSize, OutputSize));
            var result = rows == batch
                ? session.Run(input, cotangent)
                : session.Run(input[..(rows * InputSize)], cotangent[..(rows * OutputSize)]);
            RunObserver?.Invoke(rows);
            for (int i = 0; i < rows; i++) consume(start + i, new GradientRow(session, result, i));
        }
    }

    private GradientSession Gradients(ReluGradientMode mode, string tensor)
        => _gradients.GetOrAdd((mode, tensor), key => new Lazy<GradientSession>(() =>
        {
            var options = new GradientGraphOptions { BatchSize = BatchSize, OutputName = OutputName, ReluMode = key.Item1 };
            options.WithRespectTo.Add(key.Item2);
            foreach (var (name, size) in _options.Dimensions) options.Dimensions[name] = size;
            var graph = GradientGraphBuilder.Build(_model, options);
            return new GradientSession(graph, new GradientSessionOptions { Device = _options.Device, AllowCpuFallback = _options.AllowCpuFallback });
        })).Value;

    private InferenceSession CreateForwardSession(byte[] bytes)
    {
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        var device = _options.Device.Trim().ToLowerInvariant();
        if (device.StartsWith("cuda", StringComparison.Ordinal))
        {
            int id = device.Length > 5 && int.TryParse(device[5..], out int n) ? n : 0;
            try
            {
                sessionOptions.AppendExecutionProvider_CUDA(id);
                return new InferenceSession(bytes, sessionOptions);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (!_options.AllowCpuFallback)
                    throw new GradientDeviceException($"CUDA device {id} cannot be used by ONNX Runtime ({e.Message.Trim()}); set {nameof(SaliencyOptions.AllowCpuFallback)} to run on the CPU.", e);
            }
        }

        using var cpuOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(bytes, cpuOptions);
    }

    /// <summary>Appends the ML.NET linear predictor as Flatten → Gemm (scores = features · Wᵀ + b).</summary>
    private string AppendHead(LinearHead head, string features)
    {
        var probe = _model.Clone();
        probe.Graph.Output.Clear();
        probe.Graph.Output.Add(FloatValueInfo(features));
        var shape = GraphNormalizer.Normalize(probe, 1, new Dictionary<string, long>(_options.Dimensions)).Shape(features);
        long featureCount = shape[1..].Aggregate(1L, (a, b) => a * b);
        if (featureCount != head.FeatureCount)
            throw new ArgumentException($"The pipeline's predictor reads {head.FeatureCount} features, but ONNX output '{features}' has {featureCount} values per row [{string.Join(",", shape[1..])}]; {nameof(SaliencyOptions.ExplainPredictorHead)} needs the predictor trained on that output unchanged.");
        _model.Graph.Initializer.Add(OnnxProto.FloatTensor("saliency_head_weights", ElementType.Float, head.Weights, [head.ClassCount, head.FeatureCount]));
        _model.Graph.Initializer.Add(OnnxProto.FloatTensor("saliency_head_bias", ElementType.Float, head.Biases, [head.ClassCount]));
        var flat = Append("Flatten", features, "saliency_head_features", ("axis", 1L));
        _model.Graph.Node.Add(OnnxProto.Node("Gemm", [flat, "saliency_head_weights", "saliency_head_bias"], [HeadScoresName], "saliency_head", ("transB", 1L)));
        return HeadScoresName;
    }

    private string Append(string opType, string input, string output, params (string, object)[] attributes)
    {
        _model.Graph.Node.Add(OnnxProto.Node(opType, [input], [output], output, attributes));
        return output;
    }

    private static ValueInfoProto FloatValueInfo(string name)
        => new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElementType.Float } } };

    public void Dispose()
    {
        _forward.Dispose();
        foreach (var session in _gradients.Values.Where(s => s.IsValueCreated)) session.Value.Dispose();
    }
}

/// <summary>One row's results inside a gradient run.</summary>
internal readonly struct GradientRow(GradientSession session, GradientResult result, int row)
{
    /// <summary>The gradient of the upstream-weighted output with respect to <paramref name="tensor"/>.</summary>
    public ReadOnlySpan<float> Gradient(string tensor)
    {
        int size = (int)session.RowSize(session.Graph.GradientOutputNames[tensor]);
        return result.Gradients[tensor].AsSpan(row * size, size);
    }

    /// <summary>The forward value of <paramref name="tensor"/> (the explained output or a differentiated intermediate tensor).</summary>
    public ReadOnlySpan<float> Value(string tensor)
    {
        int size = (int)session.RowSize(tensor);
        return result.Values[tensor].AsSpan(row * size, size);
    }
}
