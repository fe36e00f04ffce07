// dotnet run --project samples/DigitsCnn [output-folder]   (default: ./digits-saliency)
MLNet.Explain.Samples.DigitsCnnApp.Run(args.Length > 0 ? args[0] : MLNet.Explain.Samples.DigitsCnnApp.DefaultOutputFolder, Console.Out);
