using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.ML;

namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>
/// Loaders of saved explanation stages, by the stable name each stage type registers. A saved stage records its name
/// and the assembly that registers it; loading finds the loader by name, so stage types may be renamed or moved freely.
/// </summary>
/// <remarks>
/// An assembly registers the stages it defines from its module initializer (MLNet.Explain's is
/// <see cref="StageLoaders"/>). When a model names a stage that is not registered yet, the registry loads the
/// assembly the model names and runs its module initializer, so a fresh process needs no registration call.
/// </remarks>
public static class ExplanationStageRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Registration> ByName = new(StringComparer.Ordinal);
    private static readonly Dictionary<Type, string> NameByType = [];

    /// <summary>
    /// Registers how to load stages of type <typeparamref name="TStage"/>, saved under <paramref name="name"/>.
    /// Registering the same type under the same name again does nothing.
    /// </summary>
    /// <param name="name">Stable, unique name of the stage's saved format, e.g. <c>MLNet.Explain.Lime</c>. Never change it once models are saved.</param>
    /// <param name="load">
    /// Rebuilds the stage from the loaded explained model and a reader positioned at the bytes that
    /// <see cref="ExplanationTransformer.SaveState"/> wrote; it must read all of them.
    /// </param>
    public static void Register<TStage>(string name, Func<ITransformer, BinaryReader, TStage> load) where TStage : ExplanationTransformer
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(load);
        lock (Gate)
        {
            if (ByName.TryGetValue(name, out var existing) && existing.StageType != typeof(TStage))
                throw new InvalidOperationException($"The explanation stage name '{name}' is already registered for {existing.StageType.FullName}; {typeof(TStage).FullName} needs a name of its own.");
            if (NameByType.TryGetValue(typeof(TStage), out var existingName) && existingName != name)
                throw new InvalidOperationException($"{typeof(TStage).FullName} is already registered as '{existingName}'; a stage type has one saved name.");
            ByName[name] = new Registration(typeof(TStage), (model, reader) => load(model, reader));
            NameByType[typeof(TStage)] = name;
        }
    }

    /// <summary>The registered stage names.</summary>
    public static IReadOnlyCollection<string> Names
    {
        get
        {
            lock (Gate) return ByName.Keys.Order(StringComparer.Ordinal).ToArray();
        }
    }

    internal static string NameOf(Type stageType)
    {
        lock (Gate)
        {
            if (NameByType.TryGetValue(stageType, out var name)) return name;
        }
        throw new InvalidOperationException(
            $"The explanation stage {stageType.FullName} cannot be saved: no loader is registered for it. Register one with {nameof(ExplanationStageRegistry)}.{nameof(Register)}<{stageType.Name}>(name, load) from its assembly's module initializer (see docs/architecture.md, Persistence).");
    }

    internal static ExplanationTransformer Load(string name, string assemblyName, ITransformer model, byte[] state)
    {
        var registration = Find(name) ?? FindAfterInitializing(assemblyName, name)
            ?? throw new InvalidDataException(
                $"The model contains the explanation stage '{name}' (from assembly '{assemblyName}'), but no loader is registered under that name. Registered stages: {string.Join(", ", Names.DefaultIfEmpty("none"))}. Either the model file is corrupt or it was saved by a version of '{assemblyName}' that had this stage.");

        using var reader = new BinaryReader(new MemoryStream(state, writable: false), Encoding.UTF8);
        ExplanationTransformer stage;
        try
        {
            stage = registration.Load(model, reader);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The saved state of explanation stage '{name}' ({state.Length} bytes) ended before its loader finished reading; the model file is truncated or corrupt.", e);
        }
        if (reader.BaseStream.Position != state.Length)
            throw new InvalidDataException($"The loader of explanation stage '{name}' read {reader.BaseStream.Position} of the {state.Length} bytes of its saved state; the model file is corrupt or the stage's SaveState and loader disagree.");
        if (stage is null || stage.GetType() != registration.StageType)
            throw new InvalidOperationException($"The loader of explanation stage '{name}' returned {stage?.GetType().FullName ?? "null"} instead of {registration.StageType.FullName}.");
        return stage;
    }

    private static Registration? Find(string name)
    {
        lock (Gate) return ByName.GetValueOrDefault(name);
    }

    // The stage's assembly registers its loaders in its module initializer, which runs only once code of that assembly
    // runs; a process that just loads a model may not have run any yet.
    private static Registration? FindAfterInitializing(string assemblyName, string name)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
        {
            throw new InvalidDataException($"The model contains the explanation stage '{name}', registered by assembly '{assemblyName}', which cannot be loaded: {e.Message}", e);
        }
        RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
        return Find(name);
    }

    private sealed record Registration(Type StageType, Func<ITransformer, BinaryReader, ExplanationTransformer> Load);
}
