using System.Text.Json;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

/// <summary>
/// The ONNX test models of tests/models and their PyTorch references, as described by tests/models/manifest.json
/// (written by tests/models/make_models.py).
/// </summary>
internal static class TestModels
{
    private static readonly Lazy<JsonElement> Manifest = new(() =>
        JsonDocument.Parse(File.ReadAllText(PathOf("manifest.json"))).RootElement.GetProperty("models").Clone());

    public static string PathOf(string relativePath) => Path.Combine(AppContext.BaseDirectory, "models", relativePath);

    /// <summary>Names of every model in the manifest (cnn_bn_maxpool, attention_ln_gelu, digits_cnn, ...).</summary>
    public static IEnumerable<string> Names => Manifest.Value.EnumerateObject().Select(p => p.Name);

    public static TestModel Get(string name) => new(name, Manifest.Value.GetProperty(name));
}

/// <summary>One manifest entry.</summary>
internal sealed class TestModel(string name, JsonElement entry)
{
    public string Name { get; } = name;

    public string ModelPath => TestModels.PathOf(entry.GetProperty("file").GetString()!);

    public int Opset => entry.GetProperty("opset").GetInt32();

    public string InputName => entry.GetProperty("input_name").GetString()!;

    public string OutputName => entry.GetProperty("output_name").GetString()!;

    /// <summary>The tensor Grad-CAM is computed at (the last Conv's output), or null for models without one.</summary>
    public string? GradCamTensor => entry.GetProperty("gradcam_tensor").GetString();

    /// <summary>Other named intermediate tensors with references (key, e.g. "attention_weights", to ONNX tensor name).</summary>
    public IReadOnlyDictionary<string, string> IntermediateTensors =>
        entry.TryGetProperty("intermediate_tensors", out var t)
            ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)
            : new Dictionary<string, string>();

    public IReadOnlyList<string> Ops => entry.GetProperty("ops").EnumerateArray().Select(o => o.GetString()!).ToArray();

    public IEnumerable<string> ReferenceKeys => entry.GetProperty("references").EnumerateObject().Select(p => p.Name);

    /// <summary>A float32 reference array by its manifest key: input, logits, gradient, ig_gauss_legendre_50, gradcam, ...</summary>
    public NpyArray<float> Reference(string key) => NpyFile.Read<float>(ReferencePath(key));

    /// <summary>The per-row target logit indices.</summary>
    public NpyArray<long> Targets() => NpyFile.Read<long>(ReferencePath("targets"));

    public string ReferencePath(string key) =>
        entry.GetProperty("references").TryGetProperty(key, out var r)
            ? TestModels.PathOf(r.GetProperty("file").GetString()!)
            : throw new KeyNotFoundException($"Test model {Name} has no reference '{key}'.");

    public override string ToString() => Name;
}
