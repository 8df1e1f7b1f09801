"""Per held-out image: how far the colour layout of its sketch and of its variations
lies from the original's.

Reads the first draw's examples that `atelier bench gan-quality --examples DIR` writes
(`K_sketch.png`, `K_varI.png`, one K per image in the benchmark's order) and the same
held-out folders, in the same order. Each original is centre-cropped and resized to the
examples' size with Lanczos, as the benchmark does. For the sketch and for the mean of
the variations it prints the mean |low-pass(x) - low-pass(original)| (Gaussian
sigma = 16 px: the colour layout, what the SWD's coarse level sees) and the mean
|mean colour(x) - mean colour(original)|, on [0, 1] values.

    source scripts/env.sh   # the project's venv has numpy and Pillow
    atelier bench gan-quality --data A --data B ... --examples DIR
    python benches/lowpass_error.py DIR A B ...
"""

import argparse
import glob
import os

import numpy as np
from PIL import Image, ImageFilter

EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
# `gan::sketchify::ALL_STYLES`: image K of the benchmark gets style K mod 5.
STYLES = ("blur+posterise", "k-means palette", "low resolution", "flat + edges", "rough strokes")


def heldout_files(folders):
    """The benchmark's order: the folders as given, each one's files sorted by path
    component (as Rust sorts paths)."""
    files = []
    for folder in folders:
        found = []
        for root, _, names in os.walk(folder, followlinks=True):
            found += [os.path.join(root, n) for n in names if n.lower().endswith(EXTS)]
        files += sorted(found, key=lambda p: os.path.relpath(p, folder).split(os.sep))
    return files


def square(path, size):
    """The benchmark's input: the centre square, resized with Lanczos."""
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        flat = Image.new("RGBA", im.size, (0, 0, 0, 255))
        im = Image.alpha_composite(flat, im)
    im = im.convert("RGB")
    w, h = im.size
    s = min(w, h)
    box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return im.crop(box).resize((size, size), Image.LANCZOS)


def low(im):
    return np.asarray(im.filter(ImageFilter.GaussianBlur(16)), dtype=np.float32) / 255


def mean_colour(im):
    return (np.asarray(im, dtype=np.float32) / 255).mean(axis=(0, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("examples")
    ap.add_argument("heldout", nargs="+")
    a = ap.parse_args()
    files = heldout_files(a.heldout)
    sums = np.zeros(4)
    print("image | sketch style | layout error: sketch, variations | mean colour error: sketch, variations")
    for k, path in enumerate(files):
        sketch_path = os.path.join(a.examples, f"{k}_sketch.png")
        if not os.path.exists(sketch_path):
            raise SystemExit(f"no {sketch_path}: are the folders those of the benchmark run?")
        sketch = Image.open(sketch_path).convert("RGB")
        orig = square(path, sketch.width)
        outs = [
            Image.open(p).convert("RGB")
            for p in sorted(glob.glob(os.path.join(a.examples, f"{k}_var*.png")))
        ]
        lo, mo = low(orig), mean_colour(orig)
        row = np.array(
            [
                np.abs(low(sketch) - lo).mean(),
                np.mean([np.abs(low(v) - lo).mean() for v in outs]),
                np.abs(mean_colour(sketch) - mo).mean(),
                np.mean([np.abs(mean_colour(v) - mo).mean() for v in outs]),
            ]
        )
        sums += row
        style = STYLES[k % len(STYLES)]
        print(f"{os.path.basename(path)} | {style} | {row[0]:.4f}, {row[1]:.4f} | {row[2]:.4f}, {row[3]:.4f}")
    m = sums / len(files)
    print(f"mean of {len(files)} | | {m[0]:.4f}, {m[1]:.4f} | {m[2]:.4f}, {m[3]:.4f}")


if __name__ == "__main__":
    main()
