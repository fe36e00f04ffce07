#!/usr/bin/python3
"""PyTorch anchor for the ONNX gradient-engine benchmark: torchvision ResNet18 on CPU.

Times, at one batch size and thread count:
  forward                        model(x) under torch.inference_mode()
  forward_backward               model(x), then d(sum_n logits[n, target_n]) / d x with parameters frozen
                                 (input gradient only: what the ONNX gradient graph computes)
  forward_backward_param_grads   the same with parameter gradients also computed (PyTorch's usual cost)
and prints one JSON object on stdout (milliseconds per call: median, mean, min over --repeats).

It also writes the ONNX model the C# harness runs (`--export PATH`, only if PATH does not exist yet):
torchvision.models.resnet18(weights=None) with torch.manual_seed(0) (no pretrained weights offline;
weights do not matter for timing), exported at opset 13 with a dynamic batch dimension "N",
input "input" [N,3,224,224], output "logits" [N,1000]. The file is ~45 MB, so it is regenerated
rather than committed (bench/models/ is git-ignored).

Usage: /usr/bin/python3 bench/torch_resnet18_bench.py [--batch 16] [--threads 2] [--repeats 10]
           [--warmup 3] [--export bench/models/resnet18_tv.onnx] [--export-only]
Needs Debian's python3-torch, python3-torchvision and (for --export) python3-onnx.
"""
import argparse
import json
import os
import platform
import statistics
import time

import torch
import torchvision


def build_model():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def export(model, path):
    import onnx
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(
        model, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    onnx.checker.check_model(onnx.load(path))


def time_calls(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return {"median": statistics.median(times), "mean": statistics.fmean(times), "min": min(times)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--export", metavar="PATH", help="write the ONNX model to PATH if it does not exist")
    parser.add_argument("--export-only", action="store_true", help="export and exit without timing")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = build_model()
    exported = False
    if args.export and not os.path.exists(args.export):
        export(model, args.export)
        exported = True
    if args.export_only:
        print(json.dumps({"exported": exported, "path": args.export}))
        return

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 3, 224, 224, generator=gen)
    targets = torch.randint(0, 1000, (args.batch, 1), generator=gen)

    def forward():
        with torch.inference_mode():
            model(x)

    def forward_backward():
        xg = x.clone().requires_grad_(True)
        torch.autograd.grad(model(xg).gather(1, targets).sum(), xg)

    result = {
        "model": "torchvision.models.resnet18(weights=None), seed 0, eval mode",
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "onnx_exported": exported,
        "onnx_path": args.export,
        "forward_ms": time_calls(forward, args.warmup, args.repeats),
    }
    for p in model.parameters():
        p.requires_grad_(False)
    result["forward_backward_ms"] = time_calls(forward_backward, args.warmup, args.repeats)
    for p in model.parameters():
        p.requires_grad_(True)
    result["forward_backward_param_grads_ms"] = time_calls(forward_backward, args.warmup, args.repeats)
    result["forward_backward_over_forward"] = result["forward_backward_ms"]["median"] / result["forward_ms"]["median"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
