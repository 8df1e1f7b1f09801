#!/usr/bin/env python3
"""PyTorch reference of Atelier's variation-GAN generator (src/gan/generator.rs).

Loads the same safetensors weights (+ JSON sidecar) as the Rust code, checks that its
outputs match the tensors the Rust side dumped (`atelier bench gan --dump-reference`)
to max |diff| <= 1e-4 in fp32, then times the same work: COUNT sequential generator
forwards of one SIZE x SIZE image on THREADS CPU threads (eager fp32, channels-last,
bf16 autocast, and optionally torch.compile), and the same with the z-independent encoder
run once for all codes (as `vary` does).

With --train-step it instead times one training step of the same GAN, written the way
src/gan/trainer.rs does it (batch of B canvases of SxS, the generator makes 2 variations
of each; spectral-norm PatchGAN critic on DiffAugment'ed pairs; hinge, L1, mode-seeking
and feature-matching losses; Adam(0.5, 0.999) for G and D), to compare with the
"train step" line of `atelier bench gan`.

Usage:
  atelier bench gan --size 512 --count 4 --dump-reference /tmp/ref.safetensors
  python benches/torch_reference.py --model assets/models/default.safetensors \
      --dump /tmp/ref.safetensors [--threads 2] [--reps 5] [--compile] [--json]
  python benches/torch_reference.py --train-step [--batch 8] [--crop 64] [--threads 2]
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
        # Sidecars without "padding" were made with zeros (src/gan/checkpoint.rs).
        self.reflect = arch.get("padding", "zeros") == "reflect"
        # Sidecars without "z_grid" use one code for the whole image.
        self.z_grid = arch.get("z_grid", 1)
        self.w = torch.nn.ParameterDict(
            {k.replace(".", "__"): torch.nn.Parameter(v, requires_grad=False) for k, v in weights.items() if k.startswith("g.")}
        )

    def p(self, name):
        return self.w[("g." + name).replace(".", "__")]

    def conv(self, x, name, stride=1, pad=1):
        if self.reflect and pad > 0:
            mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"  # as nn_util.rs
            x, pad = F.pad(x, (pad, pad, pad, pad), mode=mode), 0
        return F.conv2d(x, self.p(name + ".weight"), self.p(name + ".bias"), stride=stride, padding=pad)

    def latent_grid(self, z):
        """Cell c (row-major) of the G x G grid holds z rotated by c * (zdim // G^2)."""
        g, dim = self.z_grid, z.shape[1]
        cells = [torch.roll(z, -(c * (dim // (g * g))), 1) for c in range(g * g)]
        return torch.stack(cells, 2).view(z.shape[0], dim, g, g)

    @staticmethod
    def blend_weights(cells, length, like):
        """[length, cells]: align_corners linear weights, each row over its root sum of squares."""
        eye = torch.eye(cells, dtype=like.dtype).unsqueeze(0)
        w = F.interpolate(eye, size=length, mode="linear", align_corners=True)[0].t()
        return w / w.square().sum(1, keepdim=True).sqrt()

    def film(self, x, z, name):
        if z.dim() == 4:
            # As nn_util.rs Film::forward_grid: rows x (cells x columns), bias as one more row.
            n, c = max(x.shape[0], z.shape[0]), x.shape[1]
            h, w = x.shape[2:]
            weight, bias = self.p(name + ".weight"), self.p(name + ".bias")
            cells = torch.einsum("oz,nzrs->nors", weight, z)
            along = torch.einsum("nkrs,ws->nkrw", cells, self.blend_weights(z.shape[3], w, z))
            offset = torch.cat([bias[:c] + 1.0, bias[c:]]).view(1, 2 * c, 1, 1).expand(n, 2 * c, 1, w)
            along = torch.cat([along.expand(n, 2 * c, -1, w), offset], 2)
            rows = torch.cat([self.blend_weights(z.shape[2], h, z), torch.ones(h, 1, dtype=z.dtype)], 1)
            if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
                full = lambda part: torch.einsum("hr,nkrw->nhwk", rows, part).permute(0, 3, 1, 2)
            else:
                full = lambda part: torch.einsum("hr,nkrw->nkhw", rows, part)
            return torch.addcmul(full(along[:, c:]), x, full(along[:, :c]))
        gb = F.linear(z, self.p(name + ".weight"), self.p(name + ".bias"))
        c = x.shape[1]
        gamma = gb[:, :c, None, None]
        beta = gb[:, c:, None, None]
        return x * (gamma + 1.0) + beta

    def forward(self, x, z, noise=None):
        return self.decode(self.encode(x), z, noise)

    def encode(self, x):
        rgb_logit = torch.atanh(x[:, :3].float().clamp(-0.999, 0.999))
        h = F.leaky_relu(self.conv(x, "stem"), 0.01)
        skips = []
        for i in range(1, self.levels + 1):
            skips.append(h)
            h = F.leaky_relu(self.conv(h, f"down{i}.down", stride=2), 0.01)
            h = F.leaky_relu(self.conv(h, f"down{i}.conv"), 0.01)
        return rgb_logit, skips, h

    def has_noise(self):
        return "g__up0__noise" in self.w

    def decode(self, enc, z, noise=None):
        """noise: per-level maps [N, 1, h, w] (finest first) as the Rust side drew them
        from z; None draws fresh ones (same cost, for timing and training)."""
        rgb_logit, skips, h = enc
        if self.z_grid > 1:
            z = self.latent_grid(z)
        h = self.film(h, z, "mid.film")
        h = F.leaky_relu(self.conv(h, "mid.conv"), 0.01)
        for i in reversed(range(self.levels)):
            p = self.conv(h, f"up{i}.proj", pad=0)
            h = F.interpolate(p, size=skips[i].shape[2:], mode="nearest") + skips[i]
            h = self.conv(h, f"up{i}.conv")
            if self.has_noise():
                n = noise[i] if noise is not None else torch.randn(z.shape[0], 1, *skips[i].shape[2:])
                h = h + n.to(h.dtype) * self.p(f"up{i}.noise")
            h = F.leaky_relu(h, 0.01)
            h = self.film(h, z, f"up{i}.film")
        delta = self.conv(h, "head").float()
        return torch.tanh(rgb_logit + delta)


class Trainable(Generator):
    """The generator with trainable weights (initialised from the checkpoint)."""

    def __init__(self, weights, arch):
        super().__init__(weights, arch)
        for p in self.w.values():
            p.requires_grad_(True)


class SnConv:
    """Conv with spectral normalisation by one power iteration per step, as discriminator.rs."""

    def __init__(self, weights, name, stride, pad):
        self.weight = weights[name + ".weight"].clone().requires_grad_(True)
        self.bias = weights[name + ".bias"].clone().requires_grad_(True)
        self.u = weights[name + ".sn_u"].clone()
        self.stride, self.pad = stride, pad

    def params(self):
        return [self.weight, self.bias]

    def forward(self, x, update):
        out = self.weight.shape[0]
        wm = self.weight.view(out, -1)
        with torch.no_grad():
            v = wm.t().mv(self.u)
            v = v / (v.norm() + 1e-12)
            u = wm.mv(v)
            u = u / (u.norm() + 1e-12)
            if update:
                self.u = u
        sigma = u.dot(wm.mv(v))
        return F.conv2d(x, self.weight / sigma, self.bias, stride=self.stride, padding=self.pad)


class Critic:
    def __init__(self, weights):
        self.layers = [SnConv(weights, f"d.l{i}", s, 1) for i, s in enumerate([2, 2, 2, 1])]
        self.out = SnConv(weights, "d.out", 1, 1)

    def params(self):
        return [p for layer in self.layers + [self.out] for p in layer.params()]

    def forward(self, pair, update):
        h, feats = pair, []
        for layer in self.layers:
            h = layer.forward(h, update)
            h = torch.maximum(h, h * 0.2)
            feats.append(h)
        return self.out.forward(h, update), feats


def diff_augment(x):
    """Colour, translation (1/8) and cutout (1/2), as augment.rs."""
    n, c, h, w = x.shape
    b = torch.rand(n, 1, 1, 1) - 0.5
    sat = torch.rand(n, 1, 1, 1) * 2.0
    con = torch.rand(n, 1, 1, 1) + 0.5
    groups = []
    for g in range(c // 3):
        y = x[:, g * 3 : g * 3 + 3] + b
        m = y.mean(1, keepdim=True)
        y = (y - m) * sat + m
        m = y.mean((1, 2, 3), keepdim=True)
        groups.append((y - m) * con + m)
    x = torch.cat(groups, 1)
    sh, sw = round(h * 0.125), round(w * 0.125)
    padded = F.pad(x, (sw, sw, sh, sh))
    dy = torch.randint(0, 2 * sh + 1, (n,))
    dx = torch.randint(0, 2 * sw + 1, (n,))
    x = torch.cat([padded[i : i + 1, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)], 0)
    ch, cw = h // 2, w // 2
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1, 1))
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1, 1))
    ys = torch.arange(h).view(1, 1, h, 1)
    xs = torch.arange(w).view(1, 1, 1, w)
    inside_y = (ys - cy + ch // 2 >= 0) & (ys - cy + ch // 2 < ch)
    inside_x = (xs - cx + cw // 2 >= 0) & (xs - cx + cw // 2 < cw)
    return x * (~(inside_y & inside_x)).float()


def time_train_step(model_path, batch, crop, reps):
    arch = json.load(open(model_path.rsplit(".", 1)[0] + ".json"))["arch"]
    weights = load_file(model_path)
    g = Trainable(weights, arch)
    d = Critic(weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.params(), lr=2e-4, betas=(0.5, 0.999))
    zdim = arch["latent_dim"]

    def step():
        canvas = torch.rand(batch, 3, crop, crop) * 2 - 1
        target = torch.rand(batch, 3, crop, crop) * 2 - 1
        mask = torch.ones(batch, 1, crop, crop)
        z1, z2 = torch.randn(batch, zdim), torch.randn(batch, zdim)
        x = torch.cat([canvas, mask], 1)
        x2, canvas2, mask2 = torch.cat([x, x]), torch.cat([canvas, canvas]), torch.cat([mask, mask])
        target2 = torch.cat([target, target])
        fake = mask2 * g(x2, torch.cat([z1, z2])) + (1 - mask2) * canvas2
        dr, real_feats = d.forward(diff_augment(torch.cat([canvas, target], 1)), True)
        df, _ = d.forward(diff_augment(torch.cat([canvas2, fake.detach()], 1)), False)
        d_loss = F.relu(1 - dr).mean() + F.relu(1 + df).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        dg, fake_feats = d.forward(diff_augment(torch.cat([canvas2, fake], 1)), False)
        g_adv = -dg.mean()
        l1 = (fake - target2).abs().mean()
        ms = 1.0 / ((fake[:batch] - fake[batch:]).abs().mean() / (z1 - z2).abs().mean() + 0.1)
        fm = sum((r.detach().mean((0, 2, 3)) - f.mean((0, 2, 3))).abs().mean() for r, f in zip(real_feats, fake_feats))
        g_loss = g_adv + 10.0 * l1 + fm + ms
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

    step()
    step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


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
    ap.add_argument("--dump", help="tensors written by `atelier bench gan --dump-reference`")
    ap.add_argument("--train-step", action="store_true", help="time a training step instead")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    if a.train_step:
        ms = time_train_step(a.model, a.batch, a.crop, max(a.reps, 10))
        result = {"train_step_ms": ms, "batch": a.batch, "crop": a.crop, "threads": torch.get_num_threads(),
                  "torch": torch.__version__}
        print(json.dumps(result, indent=2) if a.json else f"train step: {ms:.1f} ms ({result})")
        return
    if a.dump is None:
        ap.error("--dump is required unless --train-step")
    arch = json.load(open(a.model.rsplit(".", 1)[0] + ".json"))["arch"]
    g = Generator(load_file(a.model), arch).eval()
    ref = load_file(a.dump)
    x, zs, expected = ref["input"], ref["z"], ref["output"]
    count = zs.shape[0]

    with torch.inference_mode():
        noise = [[ref[f"noise{lv}"][i : i + 1] for lv in range(arch["levels"])] if g.has_noise() else None
                 for i in range(count)]
        outs = torch.cat([g(x, zs[i : i + 1], noise[i]) for i in range(count)])
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
