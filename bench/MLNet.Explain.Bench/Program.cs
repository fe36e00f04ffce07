using MLNet.Explain.Bench;

// Usage: MLNet.Explain.Bench gradients <model.onnx> [batch] [runs] [threads]
//        MLNet.Explain.Bench gradients-profile <model.onnx> [batch] [runs] [threads]
//        MLNet.Explain.Bench throughput <model.onnx> <rows> <row size> <output name> [runs] [batch] [threads]
//        MLNet.Explain.Bench lime [trees] [leaves] [rows]
//        MLNet.Explain.Bench pfi [runs]
//        MLNet.Explain.Bench report [runs] [trees] [leaves]
//        MLNet.Explain.Bench saliency [batch] [repeats]   (starts saliency-memory <batch> <steps> children)
//        MLNet.Explain.Bench shap
//        MLNet.Explain.Bench shap-vs-fcc [row]   (values, not timings: the numbers of docs/shap.md)
switch (args.FirstOrDefault())
{
    case "gradients":
        GradientBenchmarks.BackwardOverForward(args[1], args.Length > 2 ? int.Parse(args[2]) : 16, args.Length > 3 ? int.Parse(args[3]) : 5, args.Length > 4 ? int.Parse(args[4]) : 2);
        break;
    case "gradients-profile":
        GradientProfile.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 16, args.Length > 3 ? int.Parse(args[3]) : 3, args.Length > 4 ? int.Parse(args[4]) : 2);
        break;
    case "throughput":
        GradientBenchmarks.ForwardThroughput(args[1], int.Parse(args[2]), int.Parse(args[3]), args[4], args.Length > 5 ? int.Parse(args[5]) : 5,
            args.Length > 6 ? int.Parse(args[6]) : int.Parse(args[2]), args.Length > 7 ? int.Parse(args[7]) : 2);
        break;
    case "saliency":
        SaliencyBench.Run(args[1..]);
        break;
    case "saliency-memory":
        SaliencyBench.Memory(args[1..]);
        break;
    case "lime":
        LimeBenchmark.Run(args[1..]);
        break;
    case "pfi":
        PermutationImportanceBenchmark.Run(args.Length > 1 ? int.Parse(args[1]) : 3);
        break;
    case "report":
        ReportBenchmark.Run(args[1..]);
        break;
    case "shap":
        ShapBench.Run(args[1..]);
        break;
    case "shap-vs-fcc":
        ShapVersusFeatureContributions.Run(args[1..]);
        break;
    default:
        Console.WriteLine("benchmarks: gradients <model.onnx> [batch] [runs] [threads] | gradients-profile <model.onnx> [batch] [runs] [threads] | throughput <model.onnx> <rows> <row size> <output name> [runs] [batch] [threads] | saliency [batch] [repeats] | saliency-memory <batch> <steps> | lime [trees] [leaves] [rows] | pfi [runs] | report [runs] [trees] [leaves] | shap | shap-vs-fcc [row]");
        break;
}
