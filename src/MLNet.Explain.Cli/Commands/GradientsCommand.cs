using System.CommandLine;
using MLNet.Explain.Onnx;

namespace MLNet.Explain.Cli.Commands;

/// <summary>
/// <c>mlnet-explain gradients</c>: vector-Jacobian products of an ONNX model, batched, on CPU or CUDA. The cotangent is one-hot per row at the
/// target index; the gradient is written with the shape of the input (or of the <c>--wrt</c> tensor) as float32 .npy.
/// </summary>
internal static class GradientsCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "ONNX model file.", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "float32 .npy with the model input, rows first.", Required = true };
        var outputName = new Option<string?>("--output-name") { Description = "Model output to differentiate (default: the first output)." };
        var target = new Option<FileInfo?>("--target") { Description = "int64 .npy holding one target index per row (flat index into the output row)." };
        var targetIndex = new Option<long?>("--target-index") { Description = "One target index for every row." };
        var wrt = new Option<string?>("--wrt") { Description = "Tensor to differentiate with respect to: a model input or an intermediate tensor (default: the model input)." };
        var batch = new Option<int>("--batch") { Description = "Rows per ONNX Runtime run.", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var fallback = new Option<bool>("--allow-cpu-fallback") { Description = "Run on the CPU when CUDA cannot be used instead of failing." };
        var reluMode = new Option<ReluGradientMode>("--relu-mode") { Description = "Relu gradient: Standard, Guided (Guided Backprop) or Deconvnet.", DefaultValueFactory = _ => ReluGradientMode.Standard };
        var saveGraph = new Option<FileInfo?>("--save-graph") { Description = "Also write the generated forward+backward ONNX model to this file." };
        var output = new Option<FileInfo>("--out") { Description = "float32 .npy to write the gradient to.", Required = true };

        var command = new Command("gradients", "Gradients of an ONNX model output with respect to its input or an intermediate tensor, computed by ONNX Runtime from a backward graph in standard ONNX operators.")
        {
            model, input, outputName, target, targetIndex, wrt, batch, device, fallback, reluMode, saveGraph, output,
        };
        command.Validators.Add(result =>
        {
            bool hasFile = result.GetValue(target) is not null;
            bool hasIndex = result.GetValue(targetIndex) is not null;
            if (hasFile == hasIndex)
            {
                result.AddError("Give exactly one of --target (int64 .npy, one index per row) and --target-index K.");
            }
        });
        command.SetAction(parse => Execute(
            parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(outputName), parse.GetValue(target), parse.GetValue(targetIndex), parse.GetValue(wrt),
            parse.GetValue(batch), parse.GetValue(device)!, parse.GetValue(fallback), parse.GetValue(reluMode), parse.GetValue(saveGraph), parse.GetValue(output)!));
        return command.WithExamples(
            "mlnet-explain gradients --model resnet18.onnx --input images.npy --target-index 281 --out gradients.npy",
            "mlnet-explain gradients --model model.onnx --input rows.npy --target targets.npy --wrt conv1_out --device cuda --allow-cpu-fallback --out gradcam.npy");
    }

    private static int Execute(FileInfo modelFile, FileInfo inputFile, string? outputName, FileInfo? targetFile, long? targetIndex, string? wrt,
        int batch, string device, bool allowFallback, ReluGradientMode reluMode, FileInfo? saveGraph, FileInfo outFile)
    {
        try
        {
            var model = OnnxGradientModel.Load(modelFile.FullName);
            if (model.InputNames.Count != 1)
            {
                throw new ArgumentException($"The model has {model.InputNames.Count} inputs ({string.Join(", ", model.InputNames)}); the gradients command supports single-input models.");
            }

            var options = new GradientGraphOptions { BatchSize = batch, OutputName = outputName, ReluMode = reluMode };
            options.WithRespectTo.Add(wrt ?? model.InputNames[0]);
            using var session = model.CreateSession(options, new GradientSessionOptions { Device = device, AllowCpuFallback = allowFallback, SaveGradientModelPath = saveGraph?.FullName });
            if (session.FallbackReason is { } reason)
            {
                Console.Error.WriteLine($"CUDA unavailable, running on the CPU: {reason}");
            }

            var input = NpyFile.Read<float>(inputFile.FullName);
            var rowShape = session.RowShape(model.InputNames[0]);
            if (input.Shape.Length == 0 || !input.Shape[1..].Select(d => (long)d).SequenceEqual(rowShape))
            {
                throw new ArgumentException($"{inputFile.Name} has shape ({string.Join(", ", input.Shape)}); model input '{model.InputNames[0]}' expects (rows, {string.Join(", ", rowShape)}).");
            }

            int rows = input.Shape[0];
            long[] targets;
            if (targetFile is not null)
            {
                var t = NpyFile.Read<long>(targetFile.FullName);
                if (t.Data.Length != rows)
                {
                    throw new ArgumentException($"{targetFile.Name} holds {t.Data.Length} targets for {rows} input rows.");
                }

                targets = t.Data;
            }
            else
            {
                targets = Enumerable.Repeat(targetIndex!.Value, rows).ToArray();
            }

            var result = session.Run(input.Data, session.OneHotCotangent(targets));
            string tensor = options.WithRespectTo[0];
            var gradient = result.Gradients[tensor];
            int[] shape = session.Graph.IsBatched(session.Graph.GradientOutputNames[tensor])
                ? [rows, .. session.RowShape(tensor).Select(d => (int)d)]
                : session.Graph.Shapes[session.Graph.GradientOutputNames[tensor]].Select(d => (int)d).ToArray();
            NpyFile.Write(outFile.FullName, gradient, shape);
            Console.WriteLine($"Wrote d {session.Graph.OutputName} / d {tensor} ({string.Join("x", shape)}) for {rows} rows to {outFile.FullName} on {session.Device}.");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or NotSupportedException or FileNotFoundException or GradientDeviceException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
