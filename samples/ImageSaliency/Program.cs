// dotnet run --project samples/ImageSaliency [output-folder] [--full]
//   default: quick settings (16 IG steps, 8 SmoothGrad samples, 56-pixel occlusion windows), writes ./image-saliency;
//   --full: 50 IG steps, 50 SmoothGrad samples, 32-pixel occlusion windows (about 8x the work).
using MLNet.Explain.Samples;

var settings = args.Contains("--full") ? ImageSaliencySettings.Full : ImageSaliencySettings.Quick;
string folder = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? ImageSaliencyApp.DefaultOutputFolder;
ImageSaliencyApp.Run(folder, Console.Out, settings);
