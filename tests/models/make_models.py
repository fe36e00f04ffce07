#!/usr/bin/python3
"""Build the small ONNX test models and their PyTorch autograd reference values.

Run from anywhere:  /usr/bin/python3 tests/models/make_models.py
Needs Debian's python3-torch (1.13), python3-onnx (1.12) and python3-numpy; nothing else.
Everything is seeded, so a re-run reproduces the committed files (up to torch/numpy versions).

Writes, next to this script:
  *.onnx                 the models (float32, dynamic batch dimension "N")
  ref/<model>/*.npy      inputs, targets and reference attributions (see manifest.json)
  manifest.json          the contract read by the C# tests: names, shapes, ops, what each file holds
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REF_DIR = os.path.join(HERE, "ref")
DIGITS_CSV = os.path.join(REPO, "tests", "data", "digits.csv")

IG_STEPS = 50
ROWS = 4  # reference rows per model


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

class CnnBnMaxPool(nn.Module):
    """Covers Conv (plain, groups=2, dilation=2, stride 2 + padding), BatchNormalization placed
    after Relu/MaxPool so the exporter cannot fold it into a Conv, overlapping MaxPool (k3 s2 p1),
    AveragePool (k3 s1 p1, count_include_pad=0), GlobalAveragePool, Flatten, Gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)                          # 16x16
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1)                   # 8x8, overlapping
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, groups=2)               # 8x8
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=2, dilation=2)            # 8x8
        self.pool2 = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)  # 8x8
        self.conv4 = nn.Conv2d(16, 24, 3, stride=2, padding=1)              # 4x4 (Grad-CAM layer)
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        x = self.bn1(self.pool1(F.relu(self.conv1(x))))
        x = self.bn2(F.relu(self.conv2(x)))
        x = self.pool2(F.relu(self.conv3(x)))
        x = F.relu(self.conv4(x))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


class AttentionLnGelu(nn.Module):
    """Pre-norm transformer block on [N, T=6, D=8]: LayerNorm, 2-head self-attention from
    MatMul/Softmax/Transpose/Reshape, exact (erf) GELU MLP, residual Adds, mean over T, linear head."""

    T, D, H = 6, 8, 2

    def __init__(self):
        super().__init__()
        d = self.D
        self.ln1 = nn.LayerNorm(d)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 16)
        self.fc2 = nn.Linear(16, d)
        self.head = nn.Linear(d, 3)
        self.attention_hook = None  # set by the reference code to capture the attention weights

    def heads(self, t):
        return t.reshape(-1, self.T, self.H, self.D // self.H).transpose(1, 2)  # [N,H,T,dh]

    def forward(self, x):
        h = self.ln1(x)
        q, k, v = self.heads(self.q(h)), self.heads(self.k(h)), self.heads(self.v(h))
        scores = torch.matmul(q, k.transpose(-2, -1)) / float(np.sqrt(self.D // self.H))
        attn = torch.softmax(scores, dim=-1)
        if self.attention_hook is not None:
            attn = self.attention_hook(attn)
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(-1, self.T, self.D)
        x = x + self.proj(ctx)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))  # approximate='none': erf form
        return self.head(x.mean(dim=1))


class DigitsCnn(nn.Module):
    """Small CNN for the 8x8 digits (pixels scaled to 0..1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)   # 8x8
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # 8x8
        self.pool = nn.MaxPool2d(2)                   # 4x4
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)  # 4x4 (Grad-CAM layer)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.relu(self.conv3(x))
        return self.fc(torch.flatten(x, 1))


class MlpSmall(nn.Module):
    """30 -> 64 -> 64 -> 2 with Relu (width of the breast-cancer data); for throughput benchmarks."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(30, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 2)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def he_init(model, generator):
    """He-normal weights: torch's default init shrinks activations layer by layer, which leaves a random
    network's logits nearly constant and makes attribution tests (IG completeness) meaningless."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=generator) * np.sqrt(2.0 / fan_in))
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=generator) * 0.1)


def randomize_norms(model, generator):
    """Non-trivial running statistics and affine parameters, so BatchNormalization / LayerNormalization
    are not the identity (and the exporter does not share equal LayerNorm initializers via Identity)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 0.5)
            m.running_var.copy_(torch.rand(c, generator=generator) * 1.5 + 0.25)
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            shape = m.weight.shape
            m.weight.data.copy_(torch.rand(shape, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(shape, generator=generator) * 0.2)


# ---------------------------------------------------------------------------------------------
# Digits training
# ---------------------------------------------------------------------------------------------

def load_digits():
    data = np.loadtxt(DIGITS_CSV, delimiter=",", skiprows=1, dtype=np.float64)
    x = (data[:, :64] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = data[:, 64].astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(y))
    test, train = perm[:360], perm[360:]
    return x[train], y[train], x[test], y[test]


def train_digits():
    xtr, ytr, xte, yte = load_digits()
    torch.manual_seed(1)
    model = DigitsCnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(2)
    for _ in range(8):
        model.train()
        for idx in torch.randperm(len(ytr_t), generator=g).split(64):
            opt.zero_grad()
            F.cross_entropy(model(xtr_t[idx]), ytr_t[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean()
    return model, float(acc), xte, yte


# ---------------------------------------------------------------------------------------------
# Export and inspection
# ---------------------------------------------------------------------------------------------

def export(model, example, file_name, opset):
    path = os.path.join(HERE, file_name)
    torch.onnx.export(
        model, example, path, opset_version=opset, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True,
        training=torch.onnx.TrainingMode.EVAL)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def op_types(proto):
    return sorted({n.op_type for n in proto.graph.node})


def output_of(proto, op_type, module_prefix):
    """ONNX tensor name of the output of the (single) node of op_type exported for a torch module."""
    names = [n.output[0] for n in proto.graph.node
             if n.op_type == op_type and n.name.startswith(module_prefix + "/")]
    if len(names) != 1:
        sys.exit(f"expected one {op_type} node under {module_prefix}, found {names}")
    return names[0]


# ---------------------------------------------------------------------------------------------
# Reference attributions (float64)
# ---------------------------------------------------------------------------------------------

class GuidedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0).to(g.dtype) * (g > 0).to(g.dtype)


class GuidedReluSwitch:
    """Routes F.relu through GuidedRelu while active (all models here use F.relu)."""

    def __enter__(self):
        self.original = F.relu
        F.relu = lambda x, inplace=False: GuidedRelu.apply(x)

    def __exit__(self, *exc):
        F.relu = self.original


def target_logit_sum(model, x, targets):
    out = model(x)
    return out.gather(1, targets.view(-1, 1)).sum()


def input_gradient(model, x, targets):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(target_logit_sum(model, x, targets), x)
    return g


def quadrature(rule, steps):
    if rule == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1.0) / 2.0, weights / 2.0
    if rule == "riemann_middle":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    raise ValueError(rule)


def integrated_gradients(model, x, targets, rule, steps=IG_STEPS):
    baseline = torch.zeros_like(x)
    alphas, weights = quadrature(rule, steps)
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        total += w * input_gradient(model, baseline + a * (x - baseline), targets)
    return (x - baseline) * total


def capture_at(module, model, x, targets, module_input=False):
    """Activation at module's output (or its first input) and the gradient of the target logits
    with respect to it."""
    store = {}

    def hook(_, inputs, out=None):
        a = inputs[0] if module_input else out
        a.retain_grad()
        store["a"] = a
    handle = (module.register_forward_pre_hook(hook) if module_input
              else module.register_forward_hook(hook))
    try:
        target_logit_sum(model, x.clone().requires_grad_(True), targets).backward()
    finally:
        handle.remove()
    return store["a"].detach(), store["a"].grad.detach()


def make_references(name, model, x32, targets, extra=None, guided=True):
    """model: float32 eval-mode module; references are computed on a float64 copy.
    extra(model64, x64, t) -> dict of additional arrays (intermediate tensors, Grad-CAM)."""
    ref = os.path.join(REF_DIR, name)
    os.makedirs(ref, exist_ok=True)
    m64 = _double_copy(model)
    x = torch.from_numpy(x32).double()
    t = torch.from_numpy(targets)
    arrays = {"input": x32, "targets": targets}
    with torch.no_grad():
        arrays["logits"] = m64(x).float().numpy()
        logits0 = m64(torch.zeros_like(x)).gather(1, t.view(-1, 1)).view(-1)
        logits_x = m64(x).gather(1, t.view(-1, 1)).view(-1)
    grad = input_gradient(m64, x, t)
    arrays["gradient"] = grad
    arrays["gradient_x_input"] = grad * x
    arrays["ig_gauss_legendre_50"] = integrated_gradients(m64, x, t, "gauss_legendre")
    arrays["ig_riemann_middle_50"] = integrated_gradients(m64, x, t, "riemann_middle")
    arrays["target_logit"] = logits_x
    arrays["target_logit_at_baseline"] = logits0
    if guided:
        with GuidedReluSwitch():
            arrays["guided_backprop"] = input_gradient(m64, x, t)
    if extra is not None:
        arrays.update(extra(m64, x, t))
    files = {}
    for key, value in arrays.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        arrays[key] = value
        np.save(os.path.join(ref, key + ".npy"), value)
        files[key] = f"ref/{name}/{key}.npy"
    # how far float32 autograd is from the float64 reference (sign flips at Relu/MaxPool would show)
    g32 = input_gradient(model, torch.from_numpy(x32), t).numpy()
    drift = float(np.linalg.norm(g32 - arrays["gradient"].astype(np.float64)) /
                  np.linalg.norm(arrays["gradient"]))
    ig = arrays["ig_gauss_legendre_50"]
    delta = ig.astype(np.float64).reshape(len(x32), -1).sum(1) - (logits_x - logits0).numpy()
    stats = {
        "float32_autograd_vs_reference_gradient_rel_l2": drift,
        "ig_gauss_legendre_50_completeness_delta": [float(d) for d in delta],
        "ig_gauss_legendre_50_target_logit_minus_baseline": [float(v) for v in (logits_x - logits0)],
    }
    return files, stats


def _double_copy(model):
    import copy
    m = copy.deepcopy(model).double().eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def gradcam_extra(layer_name):
    def extra(m64, x, t):
        a, g = capture_at(getattr(m64, layer_name), m64, x, t)
        weights = g.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * a).sum(dim=1))
        return {"gradcam_activation": a, "gradcam_gradient": g, "gradcam": cam}
    return extra


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

REFERENCE_DESCRIPTIONS = {
    "input": "float32 input rows fed to every reference computation",
    "targets": "int64 [N]: per-row index of the output logit that is explained",
    "logits": "float32 forward output for the input (float64 torch forward, rounded)",
    "gradient": "vanilla gradient d logits[n, targets[n]] / d input",
    "gradient_x_input": "gradient * input",
    "ig_gauss_legendre_50": "Integrated Gradients, zero baseline, 50 Gauss-Legendre nodes mapped to [0,1] "
                            "(alpha=(u+1)/2, weight=w/2): (x-b) * sum_i weight_i * grad(b + alpha_i (x-b))",
    "ig_riemann_middle_50": "Integrated Gradients, zero baseline, 50-step midpoint Riemann rule "
                            "(alpha_k=(k+0.5)/50, weight 1/50)",
    "target_logit": "float32 [N]: logits[n, targets[n]] at the input",
    "target_logit_at_baseline": "float32 [N]: logits[n, targets[n]] at the zero baseline (IG completeness)",
    "guided_backprop": "Guided Backprop: every Relu backward passes grad * (x > 0) * (grad > 0)",
    "gradcam_activation": "activation A at the Grad-CAM tensor [N,K,H,W]",
    "gradcam_gradient": "d logits[n, targets[n]] / dA at the Grad-CAM tensor [N,K,H,W]",
    "gradcam": "Grad-CAM before upsampling [N,H,W]: ReLU(sum_k mean_hw(dA_k) * A_k)",
    "attention_weights_activation": "Softmax output (attention weights) [N,H,T,T]",
    "attention_weights_gradient": "d logits[n, targets[n]] / d attention weights [N,H,T,T]",
    "hidden2_activation": "second hidden layer after Relu [N,64]",
    "hidden2_gradient": "d logits[n, targets[n]] / d hidden2 [N,64]",
}


def describe(files):
    return {k: {"file": v, "holds": REFERENCE_DESCRIPTIONS[k]} for k, v in files.items()}


def main():
    os.makedirs(REF_DIR, exist_ok=True)
    torch.set_num_threads(2)
    manifest = {
        "generator": "tests/models/make_models.py",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "conventions": {
            "input_name": "input",
            "output_name": "logits",
            "batch_dimension": "dynamic, named N",
            "reference_precision": "computed in float64 torch on a float64 copy of the float32 weights, "
                                   "saved as float32 (.npy, C order, little endian); targets are int64",
            "reference_rows": ROWS,
            "ig": {"baseline": "zeros", "steps": IG_STEPS,
                   "rules": {"ig_gauss_legendre_50": "gauss_legendre", "ig_riemann_middle_50": "riemann_middle"}},
            "gradcam": "no upsampling, ReLU on, channel weights = spatial mean of the gradient",
        },
        "models": {},
    }
    models = manifest["models"]
    gen = np.random.RandomState(1234)

    # a. CNN with BatchNorm and overlapping MaxPool (+ the same weights at opset 9)
    cnn = CnnBnMaxPool()
    he_init(cnn, torch.Generator().manual_seed(10))
    randomize_norms(cnn, torch.Generator().manual_seed(11))
    cnn.eval()
    x = gen.randn(ROWS, 3, 16, 16).astype(np.float32)
    t = np.arange(ROWS, dtype=np.int64) % 5
    proto = export(cnn, torch.from_numpy(x), "cnn_bn_maxpool.onnx", 13)
    old_opsets = [(f"cnn_opset{v}.onnx", export(cnn, torch.from_numpy(x), f"cnn_opset{v}.onnx", v), v)
                  for v in (9, 8)]
    files, stats = make_references("cnn_bn_maxpool", cnn, x, t, extra=gradcam_extra("conv4"))
    for fname, p, opset in [("cnn_bn_maxpool.onnx", proto, 13)] + old_opsets:
        models[fname[:-5]] = {
            "file": fname, "opset": opset, "input_shape": ["N", 3, 16, 16], "output_shape": ["N", 5],
            "gradcam_tensor": output_of(p, "Conv", "/conv4"),
            "gradcam_tensor_note": "output of the last Conv (conv4, before its Relu), [N,24,4,4]",
            "ops": op_types(p), "references": describe(files), "reference_stats": stats,
            "description": CnnBnMaxPool.__doc__.strip(),
        }
    for v in (9, 8):
        models[f"cnn_opset{v}"]["note"] = (f"same weights as cnn_bn_maxpool exported at opset {v} (old-opset "
                                           "handling); shares its references")

    # b. attention block
    torch.manual_seed(20)
    att = AttentionLnGelu()
    randomize_norms(att, torch.Generator().manual_seed(21))
    att.eval()
    x = gen.randn(ROWS, 6, 8).astype(np.float32)
    t = np.arange(ROWS, dtype=np.int64) % 3
    proto = export(att, torch.from_numpy(x), "attention_ln_gelu.onnx", 17)

    def attention_extra(m64, xx, tt):
        store = {}

        def hook(a):
            a.retain_grad()
            store["a"] = a
            return a
        m64.attention_hook = hook
        try:
            target_logit_sum(m64, xx.clone().requires_grad_(True), tt).backward()
        finally:
            m64.attention_hook = None
        return {"attention_weights_activation": store["a"].detach(),
                "attention_weights_gradient": store["a"].grad.detach()}
    files, stats = make_references("attention_ln_gelu", att, x, t, extra=attention_extra, guided=False)
    softmax_out = [n.output[0] for n in proto.graph.node if n.op_type == "Softmax"]
    models["attention_ln_gelu"] = {
        "file": "attention_ln_gelu.onnx", "opset": 17, "input_shape": ["N", 6, 8], "output_shape": ["N", 3],
        "gradcam_tensor": None,
        "intermediate_tensors": {"attention_weights": softmax_out[0]},
        "intermediate_note": "attention_weights_* references hold the activation and gradient at that tensor",
        "ops": op_types(proto), "references": describe(files), "reference_stats": stats,
        "description": AttentionLnGelu.__doc__.strip(),
        "note": "no Relu, so Guided Backprop is not defined here (it would equal the gradient)",
    }

    # c. digits CNN trained for real, and the same network with the last layer re-initialised
    digits, acc, xte, yte = train_digits()
    x = xte[:ROWS]
    with torch.no_grad():
        t = digits(torch.from_numpy(x)).argmax(1).numpy().astype(np.int64)
    for name, model in (("digits_cnn", digits), ("digits_cnn_randomized_last", None)):
        if model is None:
            import copy
            model = copy.deepcopy(digits)
            g = torch.Generator().manual_seed(30)
            bound = 1.0 / np.sqrt(model.fc.in_features)
            model.fc.weight.data.uniform_(-bound, bound, generator=g)
            model.fc.bias.data.uniform_(-bound, bound, generator=g)
        proto = export(model, torch.from_numpy(x), name + ".onnx", 13)
        files, stats = make_references(name, model, x, t, extra=gradcam_extra("conv3"))
        models[name] = {
            "file": name + ".onnx", "opset": 13, "input_shape": ["N", 1, 8, 8], "output_shape": ["N", 10],
            "input_scaling": "digits.csv pixels (0..16, row-major Pixel{row}{col}) divided by 16",
            "gradcam_tensor": output_of(proto, "Conv", "/conv3"),
            "gradcam_tensor_note": "output of the last Conv (conv3, before its Relu), [N,32,4,4]",
            "ops": op_types(proto), "references": describe(files), "reference_stats": stats,
            "description": DigitsCnn.__doc__.strip(),
        }
    models["digits_cnn"].update({
        "training": "Adam lr 3e-3, batch 64, 8 epochs, seed 1; split: np.random.RandomState(0).permutation "
                    "of the 1797 rows, first 360 = test, rest = train",
        "test_accuracy": acc,
        "reference_rows_note": "first 4 test rows; targets = predicted class",
        "reference_rows_true_labels": [int(v) for v in yte[:ROWS]],
    })
    models["digits_cnn_randomized_last"]["note"] = (
        "digits_cnn with fc (last layer) weights and bias re-drawn from U(-1/sqrt(512), 1/sqrt(512)), "
        "torch.Generator seed 30 (Adebayo et al. 2018 sanity check); same inputs and targets as digits_cnn")

    # d. small MLP
    mlp = MlpSmall()
    he_init(mlp, torch.Generator().manual_seed(40))
    mlp.eval()
    x = gen.randn(ROWS, 30).astype(np.float32)
    t = np.arange(ROWS, dtype=np.int64) % 2
    proto = export(mlp, torch.from_numpy(x), "mlp_small.onnx", 13)

    def mlp_extra(m64, xx, tt):
        a, g = capture_at(m64.fc3, m64, xx, tt, module_input=True)  # Relu(fc2(...))
        return {"hidden2_activation": a, "hidden2_gradient": g}
    files, stats = make_references("mlp_small", mlp, x, t, extra=mlp_extra)
    relu_outs = [n.output[0] for n in proto.graph.node if n.op_type == "Relu"]
    models["mlp_small"] = {
        "file": "mlp_small.onnx", "opset": 13, "input_shape": ["N", 30], "output_shape": ["N", 2],
        "gradcam_tensor": None,
        "intermediate_tensors": {"hidden2": relu_outs[1]},
        "ops": op_types(proto), "references": describe(files), "reference_stats": stats,
        "description": MlpSmall.__doc__.strip() + " He-normal random init (seed 40), not trained.",
    }

    for m in models.values():
        m["input_name"], m["output_name"] = "input", "logits"
        m["input_dtype"] = "float32"
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for name, m in models.items():
        print(f"{name}: opset {m['opset']} ops {m['ops']} gradcam {m.get('gradcam_tensor')} "
              f"drift {m['reference_stats']['float32_autograd_vs_reference_gradient_rel_l2']:.2e}")
    print("digits test accuracy", acc)


if __name__ == "__main__":
    main()
