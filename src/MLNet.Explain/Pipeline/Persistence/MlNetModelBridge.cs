using System.Reflection;
using System.Reflection.Emit;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>
/// The one place that reaches into ML.NET's internal model-persistence plumbing, so that <c>mlContext.Model.Save</c> and
/// <c>mlContext.Model.Load</c> handle explanation stages like any ML.NET transformer, also inside a TransformerChain.
/// </summary>
/// <remarks>
/// <para>
/// Saving: ML.NET hands <see cref="ICanSaveModel.Save"/> a <see cref="ModelSaveContext"/> whose members are internal. We
/// call them by reflection: check the position, set the version header (model signature, loader signature, loader
/// assembly), write through its <c>Writer</c> and save the explained model as a sub-model with ML.NET's own
/// <c>SaveModel</c>, so any ML.NET model inside a stage saves the way ML.NET saves it.
/// </para>
/// <para>
/// Loading: ML.NET reads the loader assembly's name from the header, loads that assembly, registers it in the
/// MLContext's ComponentCatalog (which reads its internal <c>[assembly: LoadableClass]</c> attributes) and calls the
/// registered <c>Create(IHostEnvironment, ModelLoadContext)</c>. That attribute and parameter type are internal, so C#
/// cannot declare them: <see cref="DefineLoader"/> emits them (with <c>IgnoresAccessChecksTo</c>, the runtime's
/// sanctioned way for emitted code to use internal types) into <see cref="LoaderAssemblyName"/>. That assembly ships as a
/// file next to MLNet.Explain.dll (written by tools/ModelLoaderGenerator), so a process that never ran our code loads
/// stages; where an app does not list the file in its deps.json, the same definition is emitted in memory and served from
/// <see cref="AppDomain.AssemblyResolve"/> once MLNet.Explain is first used (module initializer in <see cref="StageLoaders"/>).
/// ML.NET registers it in whichever MLContext is loading, so a fresh MLContext needs no call of ours.
/// </para>
/// <para>
/// Every reflected member is listed in <see cref="Targets"/> and resolved together on first use; a missing one fails
/// with its name and the ML.NET version this bridge was built against (<see cref="ExpectedMlNetVersion"/>). Tests pin
/// these targets against the shipped version.
/// </para>
/// </remarks>
internal static class MlNetModelBridge
{
    /// <summary>The Microsoft.ML version whose internals this bridge was written and tested against.</summary>
    public const string ExpectedMlNetVersion = "5.0.1";

    /// <summary>The in-memory assembly that carries the ML.NET loadable-class registration of explanation stages.</summary>
    public const string LoaderAssemblyName = "MLNet.Explain.ModelLoader";

    /// <summary>The name ML.NET's catalog knows the stage loader by (at most 24 characters: ML.NET's header limit).</summary>
    public const string LoaderSignature = "MLNetExplainStage";

    /// <summary>The type in the loader assembly whose <c>Create</c> ML.NET calls.</summary>
    public const string LoaderTypeName = "MLNet.Explain.ModelLoader.ExplanationStageLoader";

    private const BindingFlags AnyInstance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
    private static readonly Assembly MlNetCore = typeof(IHostEnvironment).Assembly;
    private static readonly Lazy<Targets> Resolved = new(() => Targets.Resolve(MlNetCore));
    private static readonly Lazy<Assembly> LoaderAssembly = new(EmitLoaderAssembly);
    private static int _resolverInstalled;

    /// <summary>
    /// The shipped loader type (in MLNet.Explain.ModelLoader.dll). Named here so that MLNet.Explain.dll references that
    /// assembly and builds copy it, and list it in deps.json, wherever MLNet.Explain goes.
    /// </summary>
    public static Type ShippedLoaderType => typeof(MLNet.Explain.ModelLoader.ExplanationStageLoader);

    /// <summary>The informational version of the loaded Microsoft.ML (e.g. <c>5.0.1</c>).</summary>
    public static string LoadedMlNetVersion
        => (MlNetCore.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? MlNetCore.GetName().Version?.ToString() ?? "unknown")
            .Split('+')[0];

    /// <summary>Resolves every reflected member now; throws naming each missing one. Used by tests to pin the bridge.</summary>
    public static IReadOnlyList<string> VerifyTargets() => Resolved.Value.Descriptions;

    /// <summary>Lets ML.NET find the stage loader: serves <see cref="LoaderAssemblyName"/> when ML.NET asks for it.</summary>
    public static void ServeLoaderAssembly()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 0)
            AppDomain.CurrentDomain.AssemblyResolve += (_, args)
                => new AssemblyName(args.Name).Name == LoaderAssemblyName ? LoaderAssembly.Value : null;
    }

    /// <summary>
    /// Starts saving a component: checks the context, writes its version header (so ML.NET knows to load it through
    /// the stage loader) and returns the writer of its main stream.
    /// </summary>
    public static BinaryWriter BeginSave(ModelSaveContext ctx, string modelSignature, uint version)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var targets = Resolved.Value;
        if (!(bool)targets.SaveInRepository.GetValue(ctx)!)
            throw new InvalidOperationException("Explanation stages save into an ML.NET model repository (mlContext.Model.Save); saving to a single binary stream is not supported because the explained model is saved as a sub-model.");
        Invoke(targets.SaveCheckAtModel, ctx);
        Invoke(targets.SaveSetVersionInfo, ctx, targets.NewVersionInfo(modelSignature, version));
        return (BinaryWriter)targets.SaveWriter.GetValue(ctx)!;
    }

    /// <summary>Saves <paramref name="model"/> in the sub-directory <paramref name="name"/>, the way ML.NET saves it anywhere.</summary>
    public static void SaveSubModel(ModelSaveContext ctx, ITransformer model, string name)
        => Invoke(Resolved.Value.SaveSubModel, ctx, model, name);

    /// <summary>Starts loading a component saved by <see cref="BeginSave"/>: checks its version header and returns the reader of its main stream.</summary>
    public static BinaryReader BeginLoad(object loadContext, string modelSignature, uint version)
    {
        var targets = Resolved.Value;
        Invoke(targets.LoadCheckAtModel, loadContext, targets.NewVersionInfo(modelSignature, version));
        return (BinaryReader)targets.LoadReader.GetValue(loadContext)!;
    }

    /// <summary>Loads the sub-model saved by <see cref="SaveSubModel"/>, with the loader ML.NET registered for it.</summary>
    public static ITransformer LoadSubModel(IHostEnvironment env, object loadContext, string name)
    {
        var arguments = new object?[] { env, null, name, Array.Empty<object>() };
        Invoke(Resolved.Value.LoadSubModel, loadContext, arguments);
        return (ITransformer)arguments[1]!;
    }

    /// <summary>
    /// Called by the emitted <c>Create(IHostEnvironment, ModelLoadContext)</c> when ML.NET loads a stage.
    /// The load context is passed as <see cref="object"/> because its type is internal to ML.NET.
    /// </summary>
    public static ExplanationTransformer CreateStage(IHostEnvironment env, object loadContext)
        => ModelPersistence.Load(env, loadContext);

    // ML.NET calls its loaders and our reflected members through reflection; unwrap so callers see the real error.
    private static void Invoke(MethodInfo method, object target, params object?[] arguments)
    {
        try
        {
            method.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
        }
    }

    /// <summary>The loader assembly built in memory: served when the shipped file is not deployed with the app.</summary>
    internal static Assembly EmitLoaderAssembly()
    {
        var assembly = AssemblyBuilder.DefineDynamicAssembly(LoaderAssemblyIdentity, AssemblyBuilderAccess.Run);
        DefineLoader(assembly);
        return assembly;
    }

    /// <summary>
    /// Writes the loader assembly to <paramref name="path"/>: the file shipped next to MLNet.Explain.dll, which lets ML.NET
    /// load stages in a process that has not used MLNet.Explain yet (see tools/ModelLoaderGenerator).
    /// </summary>
    public static void WriteLoaderAssembly(string path)
    {
        var assembly = new PersistedAssemblyBuilder(LoaderAssemblyIdentity, typeof(object).Assembly);
        DefineLoader(assembly);
        assembly.Save(path);
    }

    private static AssemblyName LoaderAssemblyIdentity => new(LoaderAssemblyName) { Version = new Version(1, 0, 0, 0) };

    /// <summary>
    /// The loader assembly's content: <c>[assembly: LoadableClass(typeof(ExplanationTransformer), typeof(ExplanationStageLoader),
    /// null, typeof(SignatureLoadModel), ..., LoaderSignature)]</c> and <c>ExplanationStageLoader.Create(IHostEnvironment,
    /// ModelLoadContext)</c>, which forwards to <see cref="CreateStage"/>.
    /// </summary>
    private static void DefineLoader(AssemblyBuilder assembly)
    {
        var targets = Resolved.Value;
        foreach (var friend in new[] { MlNetCore, typeof(MlNetModelBridge).Assembly })
            assembly.SetCustomAttribute(new CustomAttributeBuilder(
                typeof(System.Runtime.CompilerServices.IgnoresAccessChecksToAttribute).GetConstructor([typeof(string)])!,
                [friend.GetName().Name]));

        var loader = assembly.DefineDynamicModule(LoaderAssemblyName)
            .DefineType(LoaderTypeName, TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed);
        var create = loader.DefineMethod("Create", MethodAttributes.Public | MethodAttributes.Static,
            typeof(ExplanationTransformer), [typeof(IHostEnvironment), targets.ModelLoadContext]);
        var il = create.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(MlNetModelBridge).GetMethod(nameof(CreateStage))!);
        il.Emit(OpCodes.Ret);
        var loaderType = loader.CreateType();

        assembly.SetCustomAttribute(new CustomAttributeBuilder(targets.LoadableClassConstructor,
            [typeof(ExplanationTransformer), loaderType, null, targets.SignatureLoadModel, "MLNet.Explain explanation stage", new[] { LoaderSignature }]));
    }

    /// <summary>Every ML.NET internal this bridge uses, resolved at once (null-forgiving: a missing one throws in <see cref="Resolve"/>).</summary>
    private sealed class Targets
    {
        private readonly ConstructorInfo _versionInfoConstructor;

        private Targets(Resolver r)
        {
            var saveContext = typeof(ModelSaveContext);
            var versionInfo = r.Type("Microsoft.ML.VersionInfo", "the version header of a saved component");
            var loadContext = r.Type("Microsoft.ML.ModelLoadContext", "the context ML.NET passes to a component's loader");
            var signature = r.Type("Microsoft.ML.SignatureLoadModel", "the loader signature of saved models");
            var loadableClass = r.Type("Microsoft.ML.LoadableClassAttribute", "the attribute that registers a loader in the ComponentCatalog");

            ModelLoadContext = loadContext!;
            SignatureLoadModel = signature!;
            _versionInfoConstructor = r.Constructor(versionInfo, [typeof(string), typeof(uint), typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(string)])!;
            LoadableClassConstructor = r.Constructor(loadableClass, [typeof(Type), typeof(Type), typeof(Type), typeof(Type), typeof(string), typeof(string[])])!;

            SaveWriter = r.Field(saveContext, "Writer", typeof(BinaryWriter))!;
            SaveInRepository = r.Property(saveContext, "InRepository", typeof(bool))!;
            SaveCheckAtModel = r.Method(saveContext, "CheckAtModel", [])!;
            SaveSetVersionInfo = r.Method(saveContext, "SetVersionInfo", versionInfo is null ? null : [versionInfo])!;
            SaveSubModel = r.GenericMethod(saveContext, "SaveModel", 2, [typeof(ITransformer)])!;

            LoadReader = r.Field(loadContext, "Reader", typeof(BinaryReader))!;
            LoadCheckAtModel = r.Method(loadContext, "CheckAtModel", versionInfo is null ? null : [versionInfo])!;
            LoadSubModel = r.GenericMethod(loadContext, "LoadModel", 4, signature is null ? null : [typeof(ITransformer), signature])!;
            Descriptions = r.Resolved;
        }

        public Type ModelLoadContext { get; }
        public Type SignatureLoadModel { get; }
        public ConstructorInfo LoadableClassConstructor { get; }
        public FieldInfo SaveWriter { get; }
        public PropertyInfo SaveInRepository { get; }
        public MethodInfo SaveCheckAtModel { get; }
        public MethodInfo SaveSetVersionInfo { get; }
        public MethodInfo SaveSubModel { get; }
        public FieldInfo LoadReader { get; }
        public MethodInfo LoadCheckAtModel { get; }
        public MethodInfo LoadSubModel { get; }
        public IReadOnlyList<string> Descriptions { get; }

        public object NewVersionInfo(string modelSignature, uint version)
            => _versionInfoConstructor.Invoke([modelSignature, version, version, version, LoaderAssemblyName, LoaderSignature, null]);

        public static Targets Resolve(Assembly mlNetCore)
        {
            var resolver = new Resolver(mlNetCore);
            var targets = new Targets(resolver);
            resolver.ThrowIfAnyMissing();
            return targets;
        }
    }

    /// <summary>
    /// Looks up internal members by name and signature, recording each one found or missing, so that one error lists
    /// everything missing. A member of a missing type (or with a missing parameter type) counts as missing.
    /// </summary>
    internal sealed class Resolver(Assembly assembly)
    {
        private readonly List<string> _missing = [];
        private readonly List<string> _resolved = [];

        public IReadOnlyList<string> Resolved => _resolved;
        public IReadOnlyList<string> Missing => _missing;

        public Type? Type(string fullName, string role)
            => Record(assembly.GetType(fullName), $"type {fullName} ({role})");

        public ConstructorInfo? Constructor(Type? type, Type[] parameters)
            => Record(type?.GetConstructor(AnyInstance, parameters), $"constructor {NameOf(type)}({Names(parameters)})");

        public FieldInfo? Field(Type? type, string name, Type fieldType)
            => Record(type?.GetField(name, AnyInstance) is { } f && f.FieldType == fieldType ? f : null, $"field {fieldType.Name} {NameOf(type)}.{name}");

        public PropertyInfo? Property(Type? type, string name, Type propertyType)
            => Record(type?.GetProperty(name, AnyInstance) is { } p && p.PropertyType == propertyType ? p : null, $"property {propertyType.Name} {NameOf(type)}.{name}");

        public MethodInfo? Method(Type? type, string name, Type[]? parameters)
            => Record(parameters is null ? null : type?.GetMethod(name, AnyInstance, parameters), $"method {NameOf(type)}.{name}({Names(parameters)})");

        /// <summary>An instance generic method with <paramref name="parameterCount"/> parameters, closed over <paramref name="typeArguments"/>.</summary>
        public MethodInfo? GenericMethod(Type? type, string name, int parameterCount, Type[]? typeArguments)
        {
            var definition = typeArguments is null ? null : type?.GetMethods(AnyInstance).SingleOrDefault(m => m.Name == name && m.IsGenericMethodDefinition
                && m.GetGenericArguments().Length == typeArguments.Length && m.GetParameters().Length == parameterCount);
            return Record(definition?.MakeGenericMethod(typeArguments!), $"generic method {NameOf(type)}.{name}<{Names(typeArguments)}> with {parameterCount} parameters");
        }

        public void ThrowIfAnyMissing()
        {
            if (_missing.Count > 0)
                throw new MissingMemberException(
                    $"MLNet.Explain model persistence (MlNetModelBridge) needs ML.NET internals that the loaded Microsoft.ML {LoadedMlNetVersion} ({assembly.GetName().Name}) does not have: {string.Join("; ", _missing)}. The bridge was written and tested against Microsoft.ML {ExpectedMlNetVersion}.");
        }

        private T? Record<T>(T? found, string description) where T : class
        {
            (found is null ? _missing : _resolved).Add(description);
            return found;
        }

        private static string NameOf(Type? type) => type?.Name ?? "<missing type>";

        private static string Names(Type[]? types) => types is null ? "<missing type>" : string.Join(", ", types.Select(t => t.Name));
    }
}
