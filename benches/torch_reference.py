#!/usr/bin/env python3
"""PyTorch reference of Atelier's variation-GAN generator (src/gan/generator.rs).

Loads the same safetensors weights (+ JSON sidecar) as the Rust code, checks that its
outputs match the tensors the Rust side dumped (`atelier bench gan --dump-reference`)
to max |diff| <= 1e-4 in fp32, then times the same work: COUNT sequential generator
forwards of one SIZE x SIZE image on THREADS CPU threads (eager fp32, channels-last,
bf16 autocast, and optionally torch.compile), and the same with the z-independent encoder
run once for all codes (as `vary` does).

Usage:
  atelier bench gan --size 512 --count 4 --dump-reference /tmp/ref.safetensors
  python benches/torch_reference.py --model assets/models/default.safetensors \
      --dump /tmp/ref.safetensors [--threads 2] [--reps 5] [--compile] [--json]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def widths(arch):
    return [arch["base_width"] << min(i, 3) for i in range(arch["levels"] + 1)]


class Generator(torch.nn.Module):
    """Same graph as generator.rs, written with functional ops over the loaded weights."""

    def __init__(self, weights, arch):
        super().__init__()
        self.levels = arch["levels"]
        self.w = torch.nn.ParameterDict(
            {k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False) for k, v in weights.items() if k.startswith("g.")}
        )

    def p(self, name):
        return self.w[("g." + name).replace(".", "__")]

    def conv(self, x, name, stride=1, pad=1):
        return F.conv2d(x, self.p(name + ".weight"), self.p(name + ".bias"), stride=stride, padding=pad)

    def film(self, x, z, name):
        gb = F.linear(z, self.p(name + ".weight"), self.p(name + ".bias"))
        c = x.shape[1]
        gamma = gb[:, :c, None, None]
        beta = gb[:, c:, None, None]
        return x * (gamma + 1.0) + beta

    def forward(self, x, z):
        return self.decode(self.encode(x), z)

    def encode(self, x):
        rgb_logit = torch.atanh(x[:, :3].float().clamp(-0.999, 0.999))
        h = F.leaky_relu(self.conv(x, "stem"), 0.01)
        skips = []
        for i in range(1, self.levels + 1):
            skips.append(h)
            h = F.leaky_relu(self.conv(h, f"down{i}.down", stride=2), 0.01)
            h = F.leaky_relu(self.conv(h, f"down{i}.conv"), 0.01)
        return rgb_logit, skips, h

    def decode(self, enc, z):
        rgb_logit, skips, h = enc
        h = self.film(h, z, "mid.film")
        h = F.leaky_relu(self.conv(h, "mid.conv"), 0.01)
        for i in reversed(range(self.levels)):
            p = self.conv(h, f"up{i}.proj", pad=0)
            h = F.interpolate(p, size=skips[i].shape[2:], mode="nearest") + skips[i]
            h = F.leaky_relu(self.conv(h, f"up{i}.conv"), 0.01)
            h = self.film(h, z, f"up{i}.film")
        delta = self.conv(h, "head").float()
        return torch.tanh(rgb_logit + delta)


def time_it(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="assets/models/default.safetensors")
    ap.add_argument("--dump", required=True, help="tensors written by `atelier bench gan --dump-reference`")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    arch = json.load(open(a.model.rsplit(".", 1)[0] + ".json"))["arch"]
    g = Generator(load_file(a.model), arch).eval()
    ref = load_file(a.dump)
    x, zs, expected = ref["input"], ref["z"], ref["output"]
    count = zs.shape[0]

    with torch.inference_mode():
        outs = torch.cat([g(x, zs[i : i + 1]) for i in range(count)])
    max_diff = (outs - expected).abs().max().item()
    assert max_diff <= 1e-4, f"PyTorch and Rust generators differ: max |diff| = {max_diff}"

    results = {"max_abs_diff_vs_rust": max_diff, "threads": torch.get_num_threads(), "size": x.shape[-1], "count": count,
               "torch": torch.__version__}

    def run(model, xx, cast=None, shared=False):
        def work():
            if shared:
                enc = model.encode(xx)
                for i in range(count):
                    model.decode(enc, zs[i : i + 1])
            else:
                for i in range(count):
                    model(xx, zs[i : i + 1])

        def f():
            with torch.inference_mode():
                if cast is None:
                    work()
                else:
                    with torch.autocast("cpu", dtype=cast):
                        work()
        return f

    results["eager_fp32_ms"] = time_it(run(g, x), a.reps)
    results["eager_fp32_shared_encoder_ms"] = time_it(run(g, x, shared=True), a.reps)
    g_cl = Generator(load_file(a.model), arch).eval().to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    results["eager_fp32_channels_last_ms"] = time_it(run(g_cl, x_cl), a.reps)
    results["eager_bf16_autocast_ms"] = time_it(run(g, x, torch.bfloat16), a.reps)
    results["eager_bf16_autocast_channels_last_ms"] = time_it(run(g_cl, x_cl, torch.bfloat16), a.reps)
    results["eager_bf16_autocast_channels_last_shared_encoder_ms"] = time_it(
        run(g_cl, x_cl, torch.bfloat16, shared=True), a.reps
    )
    if a.compile:
        gc = torch.compile(g_cl)
        results["compile_bf16_channels_last_ms"] = time_it(run(gc, x_cl, torch.bfloat16), a.reps)
    if a.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
