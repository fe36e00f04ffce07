switch (args.FirstOrDefault())
{
    case "saliency":
        MLNet.Explain.Bench.SaliencyBench.Run(args[1..]);
        break;
    default:
        Console.WriteLine("usage: MLNet.Explain.Bench <entry> [args]; entries: saliency [batch] [repeats]");
        break;
}
