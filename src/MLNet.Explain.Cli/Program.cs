return MLNet.Explain.Cli.CliApp.Run(args);
