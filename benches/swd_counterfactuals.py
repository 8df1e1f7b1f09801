"""Where does the held-out SWD of a model's variations come from?

Re-implements `bench gan-quality`'s SWD (3-level Laplacian pyramid, 7×7 patches,
per-set normalisation, ×1e3) in numpy and scores counterfactual output sets: one
image's low-pass (Gaussian σ = 8 px) taken from its original, one image's outputs
replaced by its original, and every output replaced by its original (the floor:
only the random patches differ). It first prints each image's band energy (the
standard deviation of each pyramid level) for the original, the sketch and the
outputs: the metric normalises each set as a whole, so an image whose outputs lack
the original's detail changes how every other image's patches are scaled. Numbers
follow the Rust metric to within a few points (other random patches and directions),
so compare rows with each other only.

    source scripts/env.sh   # the project's venv has numpy and Pillow
    atelier bench gan-quality --data HELD_OUT --size 512 --count 4 --draws 1 --examples EX
    python benches/swd_counterfactuals.py HELD_OUT EX
"""

import glob
import itertools
import os
import sys

import numpy as np
from PIL import Image

BINOMIAL = np.array([1, 4, 6, 4, 1], np.float32) / 16


def conv_sep(img, k):
    r = len(k) // 2
    p = np.pad(img, ((r, r), (0, 0), (0, 0)), mode="edge")
    t = sum(k[j] * p[j : j + img.shape[0]] for j in range(len(k)))
    p = np.pad(t, ((0, 0), (r, r), (0, 0)), mode="edge")
    return sum(k[j] * p[:, j : j + img.shape[1]] for j in range(len(k)))


def gaussian(img, sigma):
    r = int(np.ceil(3 * sigma))
    k = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma * sigma))
    return conv_sep(img, k / k.sum())


def pyramid(img, levels=3):
    out, cur = [], img
    for _ in range(levels - 1):
        nxt = conv_sep(cur, BINOMIAL)[::2, ::2]
        up = np.repeat(np.repeat(nxt, 2, 0), 2, 1)[: cur.shape[0], : cur.shape[1]]
        out.append(cur - conv_sep(up, BINOMIAL))
        cur = nxt
    return out + [cur]


def descriptors(levels, count, rng, p=7):
    out = np.empty((count, p * p, 3), np.float32)
    for i in range(count):
        lv = levels[rng.integers(len(levels))]
        y, x = rng.integers(0, lv.shape[0] - p + 1), rng.integers(0, lv.shape[1] - p + 1)
        out[i] = lv[y : y + p, x : x + p].reshape(-1, 3)
    out = (out - out.mean((0, 1))) / np.maximum(out.std((0, 1)), 1e-8)
    return out.reshape(count, -1)


def swd_levels(a, b, seed, per_level=4096, dirs=512):
    rng = np.random.default_rng(seed)
    pa, pb = [pyramid(x) for x in a], [pyramid(x) for x in b]
    res = []
    for lvl in range(3):
        da = descriptors([p[lvl] for p in pa], per_level, rng)
        db = descriptors([p[lvl] for p in pb], per_level, rng)
        d = rng.standard_normal((da.shape[1], dirs)).astype(np.float32)
        d /= np.linalg.norm(d, axis=0)
        res.append(np.abs(np.sort(da @ d, 0) - np.sort(db @ d, 0)).mean() * 1e3)
    return np.array(res)


def square(path, size=512):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return np.asarray(im.crop(box).resize((size, size), Image.LANCZOS), np.float32) / 255


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255


def main(held_out, examples, seeds=3):
    names = sorted(glob.glob(os.path.join(held_out, "*")))
    n = len(names)
    orig = [square(p) for p in names]
    sketch = [load(f"{examples}/{k}_sketch.png") for k in range(n)]
    outs = [sorted(glob.glob(f"{examples}/{k}_var*.png")) for k in range(n)]
    outs = [[load(p) for p in o] for o in outs]
    count = len(outs[0])
    originals = [orig[k] for k in range(n) for _ in range(count)]

    def score(label, make):
        a = [make(k, j) for k in range(n) for j in range(count)]
        r = np.mean([swd_levels(a, originals, s) for s in range(seeds)], 0)
        faith = np.mean(
            [np.abs(gaussian(a[k * count + j], 4) - gaussian(sketch[k], 4)).mean()
             for k in range(n) for j in range(count)]
        )
        print(f"{label:52s} {r[0]:6.1f} / {r[1]:5.1f} / {r[2]:5.1f} = {r.mean():5.1f}"
              f"  faithfulness {faith:.3f}", flush=True)

    def energy(img):
        return [float(level.std()) for level in pyramid(img)]

    print(f"{'band energy':24s} {'original':>20s} | {'sketch':>20s} | {'outputs (mean)':>20s}")
    for k, p in enumerate(names):
        rows = [energy(orig[k]), energy(sketch[k]), np.mean([energy(o) for o in outs[k]], 0)]
        print(f"{os.path.basename(p):24s} " + " | ".join(" ".join(f"{v:.4f}" for v in r) for r in rows))
    div = [np.mean([np.abs(a - b).mean() for a, b in itertools.combinations(o, 2)]) for o in outs]
    print("diversity per image:", " ".join(f"{os.path.basename(p)} {d:.3f}" for p, d in zip(names, div)))
    print(f"{'set':52s}   fine /   mid / coarse = mean")
    score("sketches", lambda k, j: sketch[k])
    score("outputs", lambda k, j: outs[k][j])
    # Other random patches of the same pictures: how low the metric can go.
    score("the originals themselves (the floor)", lambda k, j: orig[k])
    for i, p in enumerate(names):
        b = os.path.basename(p)
        score(f"{b}: low-pass from the original",
              lambda k, j, i=i: outs[k][j] - gaussian(outs[k][j], 8) + gaussian(orig[k], 8)
              if k == i else outs[k][j])
        score(f"{b}: outputs replaced by the original",
              lambda k, j, i=i: orig[k] if k == i else outs[k][j])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
