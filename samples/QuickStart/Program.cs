// dotnet run --project samples/QuickStart [output-folder]   (default: ./explain-output)
MLNet.Explain.Samples.QuickStartApp.Run(args.Length > 0 ? args[0] : MLNet.Explain.Samples.QuickStartApp.DefaultOutputFolder, Console.Out);
