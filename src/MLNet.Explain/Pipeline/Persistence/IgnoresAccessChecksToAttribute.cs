namespace System.Runtime.CompilerServices;

/// <summary>
/// Read by the runtime (by name) on an assembly to let its code use the internals of the named assembly.
/// Applied only to the in-memory loader assembly that <see cref="MLNet.Explain.Pipeline.Persistence.MlNetModelBridge"/> emits.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
{
    public string AssemblyName { get; } = assemblyName;
}
