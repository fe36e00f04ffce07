using MLNet.Explain.Pipeline.Persistence;

// Regenerates the loader assembly that MLNet.Explain ships, from the same definition the bridge emits in memory.
// Needed only when MlNetModelBridge's loader definition changes; PersistenceTests checks the shipped file against it.
var output = args.Length > 0
    ? args[0]
    : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/MLNet.Explain/ModelLoader", MlNetModelBridge.LoaderAssemblyName + ".dll"));
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
MlNetModelBridge.WriteLoaderAssembly(output);
Console.WriteLine($"Wrote {output}");
