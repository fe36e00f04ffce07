using Microsoft.ML.OnnxRuntime;

namespace MLNet.Explain.Onnx;

/// <summary>
/// Runs a <see cref="GradientGraph"/> with ONNX Runtime on any number of rows: rows are processed <see cref="GradientGraph.BatchSize"/> at a
/// time, full batches are read from and written to the caller's arrays in place (no intermediate copies), a final partial batch is padded.
/// Thread-safe: concurrent <see cref="Run(IReadOnlyDictionary{string, float[]}, float[])"/> calls share the session.
/// </summary>
public sealed class GradientSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private bool _disposed;

    internal GradientSession(GradientGraph graph, GradientSessionOptions options)
    {
        Graph = graph;
        if (options.SaveGradientModelPath is { } path)
        {
            graph.Save(path);
        }

        var (kind, deviceId) = ParseDevice(options.Device);
        byte[] bytes = graph.ToBytes();
        if (kind == "cuda")
        {
            try
            {
                _session = CreateSession(bytes, options, deviceId);
                Device = $"cuda:{deviceId}";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (!options.AllowCpuFallback)
                {
                    throw new GradientDeviceException(
                        $"CUDA device {deviceId} cannot be used by ONNX Runtime ({e.Message.Trim()}). Install the CUDA and cuDNN runtime the Microsoft.ML.OnnxRuntime.Gpu package needs, " +
                        $"or set {nameof(GradientSessionOptions)}.{nameof(GradientSessionOptions.AllowCpuFallback)} to run on the CPU.", e);
                }

                FallbackReason = e.Message.Trim();
            }
        }

        if (_session is null)
        {
            _session = CreateSession(bytes, options, cudaDevice: null);
            Device = "cpu";
        }

        _inputNames = [.. graph.InputNames, graph.CotangentInputName];
        _outputNames = [.. graph.ForwardOutputs, .. graph.GradientOutputNames.Values];
    }

    public GradientGraph Graph { get; }

    /// <summary>The device the session runs on: "cpu" or "cuda:N".</summary>
    public string Device { get; } = "cpu";

    /// <summary>Why CUDA was not used when it was requested and CPU fallback was allowed; null otherwise.</summary>
    public string? FallbackReason { get; }

    /// <summary>Elements per row of a graph input or output (its shape without the batch axis).</summary>
    public long RowSize(string graphTensor) => Graph.Shapes[graphTensor][1..].Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape of one row of a model input, output or requested tensor (no batch axis).</summary>
    public long[] RowShape(string tensor) => Graph.Shapes[Graph.GradientOutputNames.TryGetValue(tensor, out var g) ? g : tensor][1..];

    /// <summary>A one-hot cotangent: for each row, 1 at the flat position <paramref name="targets"/>[row] of the seeded output's row.</summary>
    public float[] OneHotCotangent(IReadOnlyList<long> targets)
    {
        long rowSize = RowSize(Graph.CotangentInputName);
        var cotangent = new float[targets.Count * rowSize];
        for (int row = 0; row < targets.Count; row++)
        {
            if (targets[row] < 0 || targets[row] >= rowSize)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), targets[row], $"Target of row {row} is outside output '{Graph.OutputName}', which has {rowSize} values per row.");
            }

            cotangent[(row * rowSize) + targets[row]] = 1f;
        }

        return cotangent;
    }

    /// <summary>Runs a single-input model; see <see cref="Run(IReadOnlyDictionary{string, float[]}, float[])"/>.</summary>
    public GradientResult Run(float[] input, float[] cotangent)
    {
        if (Graph.InputNames.Count != 1)
        {
            throw new ArgumentException($"The model has {Graph.InputNames.Count} inputs ({string.Join(", ", Graph.InputNames)}); pass them by name.", nameof(input));
        }

        return Run(new Dictionary<string, float[]> { [Graph.InputNames[0]] = input }, cotangent);
    }

    /// <summary>
    /// Computes the forward outputs and the gradients for all rows. Each input holds rows × (row size) floats, row-major; the cotangent holds
    /// rows × (row size of the seeded output). Gradients of batched tensors come back per row; gradients of initializers are summed over rows.
    /// </summary>
    public GradientResult Run(IReadOnlyDictionary<string, float[]> inputs, float[] cotangent)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var arrays = new float[_inputNames.Length][];
        int rows = -1;
        for (int i = 0; i < _inputNames.Length; i++)
        {
            string name = _inputNames[i];
            var data = i < _inputNames.Length - 1
                ? inputs.TryGetValue(name, out var d) ? d : throw new ArgumentException($"Input '{name}' is missing; the model needs {string.Join(", ", Graph.InputNames)}.", nameof(inputs))
                : cotangent ?? throw new ArgumentNullException(nameof(cotangent));
            long rowSize = RowSize(name);
            string role = i < _inputNames.Length - 1 ? $"Input '{name}'" : $"The cotangent of output '{Graph.OutputName}'";
            if (data.Length % rowSize != 0)
            {
                throw new ArgumentException($"{role} has {data.Length} values, not a multiple of its row size {rowSize} (row shape [{string.Join(",", Graph.Shapes[name][1..])}]).");
            }

            int r = (int)(data.Length / rowSize);
            if (rows >= 0 && r != rows)
            {
                throw new ArgumentException($"{role} holds {r} rows but the preceding inputs hold {rows}.");
            }

            rows = r;
            arrays[i] = data;
        }

        var outputs = _outputNames.Select(o => new float[Graph.IsBatched(o) ? rows * RowSize(o) : Graph.Shapes[o].Aggregate(1L, (a, b) => a * b)]).ToArray();
        int batch = Graph.BatchSize;
        for (int start = 0; start < rows; start += batch)
        {
            RunChunk(arrays, outputs, start, Math.Min(batch, rows - start));
        }

        var values = new Dictionary<string, float[]>();
        var gradients = new Dictionary<string, float[]>();
        for (int o = 0; o < _outputNames.Length; o++)
        {
            if (o < Graph.ForwardOutputs.Count)
            {
                values[_outputNames[o]] = outputs[o];
            }
        }

        int index = Graph.ForwardOutputs.Count;
        foreach (var (tensor, _) in Graph.GradientOutputNames)
        {
            gradients[tensor] = outputs[index++];
        }

        return new GradientResult(rows, values, gradients);
    }

    private void RunChunk(float[][] inputs, float[][] outputs, int start, int count)
    {
        int batch = Graph.BatchSize;
        bool full = count == batch;
        var disposables = new List<IDisposable>();
        var scratch = new float[outputs.Length][];
        try
        {
            var inputValues = new OrtValue[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                var shape = Graph.Shapes[_inputNames[i]];
                int rowSize = (int)RowSize(_inputNames[i]);
                Memory<float> memory;
                if (full)
                {
                    memory = new Memory<float>(inputs[i], start * rowSize, batch * rowSize);
                }
                else
                {
                    var padded = new float[batch * rowSize];
                    Array.Copy(inputs[i], start * rowSize, padded, 0, count * rowSize);
                    memory = padded;
                }

                inputValues[i] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, shape);
                disposables.Add(inputValues[i]);
            }

            var outputValues = new OrtValue[outputs.Length];
            for (int o = 0; o < outputs.Length; o++)
            {
                var shape = Graph.Shapes[_outputNames[o]];
                Memory<float> memory;
                if (full && Graph.IsBatched(_outputNames[o]))
                {
                    int rowSize = (int)RowSize(_outputNames[o]);
                    memory = new Memory<float>(outputs[o], start * rowSize, batch * rowSize);
                }
                else
                {
                    scratch[o] = new float[shape.Aggregate(1L, (a, b) => a * b)];
                    memory = scratch[o];
                }

                outputValues[o] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, memory, shape);
                disposables.Add(outputValues[o]);
            }

            using var runOptions = new RunOptions();
            _session.Run(runOptions, _inputNames, inputValues, _outputNames, outputValues);
        }
        finally
        {
            foreach (var d in disposables)
            {
                d.Dispose();
            }
        }

        for (int o = 0; o < outputs.Length; o++)
        {
            if (scratch[o] is not { } data)
            {
                continue;
            }

            if (Graph.IsBatched(_outputNames[o]))
            {
                int rowSize = (int)RowSize(_outputNames[o]);
                Array.Copy(data, 0, outputs[o], start * rowSize, count * rowSize);
            }
            else
            {
                // Initializer gradients: padded rows carry a zero cotangent, so adding whole batches is exact.
                lock (outputs[o])
                {
                    for (int k = 0; k < data.Length; k++)
                    {
                        outputs[o][k] += data[k];
                    }
                }
            }
        }
    }

    private static InferenceSession CreateSession(byte[] model, GradientSessionOptions options, int? cudaDevice)
    {
        var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            if (options.IntraOpThreads > 0)
            {
                sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
            }

            if (cudaDevice is { } id)
            {
                sessionOptions.AppendExecutionProvider_CUDA(id);
            }

            return new InferenceSession(model, sessionOptions);
        }
        finally
        {
            sessionOptions.Dispose();
        }
    }

    private static (string Kind, int DeviceId) ParseDevice(string device)
    {
        var d = device.Trim().ToLowerInvariant();
        if (d == "cpu")
        {
            return ("cpu", 0);
        }

        if (d == "cuda")
        {
            return ("cuda", 0);
        }

        if (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d[5..], out int id) && id >= 0)
        {
            return ("cuda", id);
        }

        throw new ArgumentException($"Unknown device '{device}'; expected 'cpu', 'cuda' or 'cuda:N'.", nameof(device));
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _session.Dispose();
        }
    }
}

/// <summary>Forward values and gradients of one <see cref="GradientSession.Run(IReadOnlyDictionary{string, float[]}, float[])"/> call, row-major with rows first.</summary>
public sealed class GradientResult(int rows, IReadOnlyDictionary<string, float[]> values, IReadOnlyDictionary<string, float[]> gradients)
{
    public int Rows { get; } = rows;

    /// <summary>Forward values by tensor name: the seeded output, exposed tensors and requested intermediate tensors.</summary>
    public IReadOnlyDictionary<string, float[]> Values { get; } = values;

    /// <summary>Gradients of the seeded output's cotangent-weighted sum, by the name of the tensor differentiated with respect to.</summary>
    public IReadOnlyDictionary<string, float[]> Gradients { get; } = gradients;
}
