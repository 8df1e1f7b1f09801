"""How much of a posterised sketch's colour error could a model know how to undo?

The blur-and-posterise sketch style (`gan::sketchify`, `Style::BlurPosterize`) rounds
each channel of a blurred image to L levels, so a flat region of the sketch sits up to
half a level away from the picture's true colour. A model trained on such pairs can at
best learn, for each posterised colour, the mean true colour behind it in its training
images (the Bayes estimate under L1 of the mean, with no other cue). This script
builds that table from the training images for L = 3..6 (Gaussian blur σ = 2 px, the
middle of the style's range) and reports, per held-out image, the mean |sketch −
original| and the mean |table(sketch) − original|: the share of the colour error that
such a prior removes, and the mean colour of the original, the sketch and table(sketch). Images are downscaled to 512 px on their long side and, where
they have alpha, composited over black as the app's loader does.

    source scripts/env.sh   # the project's venv has numpy and Pillow
    python benches/posterize_prior.py TRAIN_DIR [TRAIN_DIR ...] --heldout HELD_OUT
"""

import argparse
import glob
import os

import numpy as np
from PIL import Image, ImageFilter

EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def images(folder):
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if path.lower().endswith(EXTS):
            yield path


def load(path):
    """The image's blur (σ = 2 px) and the image itself, as `[pixels, 3]` in [0, 1]."""
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        black = Image.new("RGBA", im.size, (0, 0, 0, 255))
        black.alpha_composite(im)
        im = black
    im = im.convert("RGB")
    im.thumbnail((512, 512))
    blurred = np.asarray(im.filter(ImageFilter.GaussianBlur(2)), np.float32) / 255
    return blurred.reshape(-1, 3), np.asarray(im, np.float32).reshape(-1, 3) / 255


def posterize(blurred, levels):
    """Integer level per channel, and one index per posterised colour (r·L² + g·L + b)."""
    key = np.round(blurred * (levels - 1)).astype(np.int64)
    return key, (key * [levels * levels, levels, 1]).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train", nargs="+")
    ap.add_argument("--heldout", required=True)
    args = ap.parse_args()
    train = [load(p) for d in args.train for p in images(d)]
    heldout = [(os.path.basename(p), load(p)) for p in images(args.heldout)]
    print(f"{len(train)} training images, {len(heldout)} held out")
    print("levels  image                  |sketch-orig| |prior-orig| removed   mean colour: original / sketch / prior")
    for levels in range(3, 7):
        # Sum and count of true colours per posterised colour.
        sums = np.zeros((levels**3, 3))
        counts = np.zeros(levels**3)
        for blurred, orig in train:
            _, flat = posterize(blurred, levels)
            np.add.at(sums, flat, orig)
            counts += np.bincount(flat, minlength=levels**3)
        for name, (blurred, orig) in heldout:
            key, flat = posterize(blurred, levels)
            sketch = key / (levels - 1)
            seen = counts[flat] > 0
            prior = np.where(seen[:, None], sums[flat] / np.maximum(counts[flat], 1)[:, None], sketch)
            before = np.abs(sketch - orig).mean()
            after = np.abs(prior - orig).mean()
            means = " / ".join(
                "(" + ", ".join(f"{v:.2f}" for v in x.mean(0)) + ")" for x in (orig, sketch, prior)
            )
            print(
                f"{levels:6}  {name:22} {before:12.4f} {after:12.4f} {(1 - after / before) * 100:6.1f}%   {means}"
            )


if __name__ == "__main__":
    main()
