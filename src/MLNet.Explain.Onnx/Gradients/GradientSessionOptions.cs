namespace MLNet.Explain.Onnx;

/// <summary>How a <see cref="GradientSession"/> runs its graph.</summary>
public sealed class GradientSessionOptions
{
    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA device N).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>When CUDA is requested but cannot be used, run on the CPU instead of throwing (the session's <see cref="GradientSession.FallbackReason"/> says why).</summary>
    public bool AllowCpuFallback { get; set; }

    /// <summary>When set, the generated forward+backward model is written to this file before the session is created.</summary>
    public string? SaveGradientModelPath { get; set; }

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; set; }
}

/// <summary>Thrown when the requested device (CUDA) cannot be used and CPU fallback is not allowed.</summary>
public sealed class GradientDeviceException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
