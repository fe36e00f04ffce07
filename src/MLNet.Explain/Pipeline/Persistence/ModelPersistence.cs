using System.Text;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>
/// The saved form of an explanation stage inside an ML.NET model file. Its directory holds a main stream with ML.NET's
/// version header, then: the stage's registered name, the simple name of the assembly that registers it, the length of
/// the stage's state and the state bytes (written by <see cref="ExplanationTransformer.SaveState"/>). The explained model
/// is a sub-model in <see cref="ExplainedModelDirectory"/>, saved by ML.NET itself.
/// </summary>
internal static class ModelPersistence
{
    /// <summary>ML.NET's 8-character model signature of a saved explanation stage.</summary>
    public const string ModelSignature = "MLNXSTGE";

    /// <summary>Version of this format (major.minor in the high and low 16 bits), checked by ML.NET on load.</summary>
    public const uint FormatVersion = 0x00010001;

    public const string ExplainedModelDirectory = "ExplainedModel";

    public static void Save(ExplanationTransformer stage, ModelSaveContext ctx, Action<BinaryWriter> saveState)
    {
        var name = ExplanationStageRegistry.NameOf(stage.GetType());
        var state = new MemoryStream();
        using (var stateWriter = new BinaryWriter(state, Encoding.UTF8, leaveOpen: true))
            saveState(stateWriter);

        var writer = MlNetModelBridge.BeginSave(ctx, ModelSignature, FormatVersion);
        writer.Write(name);
        writer.Write(stage.GetType().Assembly.GetName().Name!);
        writer.Write(state.Length);
        writer.Write(state.GetBuffer(), 0, (int)state.Length);
        MlNetModelBridge.SaveSubModel(ctx, stage.Model, ExplainedModelDirectory);
    }

    public static ExplanationTransformer Load(IHostEnvironment env, object loadContext)
    {
        var reader = MlNetModelBridge.BeginLoad(loadContext, ModelSignature, FormatVersion);
        string name, assembly;
        byte[] state;
        try
        {
            name = reader.ReadString();
            assembly = reader.ReadString();
            long length = reader.ReadInt64();
            if (length is < 0 or > int.MaxValue)
                throw new InvalidDataException($"The saved explanation stage '{name}' declares {length} bytes of state; the model file is corrupt.");
            state = reader.ReadBytes((int)length);
            if (state.Length != length)
                throw new InvalidDataException($"The saved explanation stage '{name}' declares {length} bytes of state but only {state.Length} are present; the model file is truncated or corrupt.");
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("A saved explanation stage ends before its name and state; the model file is truncated or corrupt.", e);
        }
        var model = MlNetModelBridge.LoadSubModel(env, loadContext, ExplainedModelDirectory);
        return ExplanationStageRegistry.Load(name, assembly, model, state);
    }
}
