using System.Runtime.CompilerServices;

namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>Registers, when MLNet.Explain is first used in a process, what loading saved explanation stages needs.</summary>
internal static class StageLoaders
{
    // A module initializer, so that any first use of MLNet.Explain (e.g. mlContext.Explain()) makes saved stages
    // loadable by every MLContext of the process, whatever the user calls next. It installs an event handler and
    // fills a dictionary: no other work, no I/O.
#pragma warning disable CA2255 // Deliberate in a library: see above.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        MlNetModelBridge.ServeLoaderAssembly();
        // Each stage of MLNet.Explain adds its line here: ExplanationStageRegistry.Register<TStage>(name, load).
        ExplanationStageRegistry.Register<PermutationImportanceTransformer>(PermutationImportanceTransformer.StageName, PermutationImportanceTransformer.Load);
        ExplanationStageRegistry.Register<LimeTransformer>(LimeTransformer.StageName, LimeTransformer.Load);
        ExplanationStageRegistry.Register<Shap.ShapTransformer>(Shap.ShapTransformer.StageName, Shap.ShapTransformer.Load);
    }
}
