"""A simulated artist for `atelier loop` tests: accepts the candidates that
have a measurable property above a threshold and rejects the rest.

    judge.py PROPERTY THRESHOLD CANDIDATE.png...

PROPERTY: warm (mean red minus mean blue), bright (mean luma), green (mean
green minus the mean of red and blue); values on 0..255. Prints one line per
candidate (accept / reject) and the measured values to standard error.
"""
import sys

from PIL import Image, ImageStat


def measure(prop, path):
    r, g, b = ImageStat.Stat(Image.open(path).convert("RGB")).mean
    if prop == "warm":
        return r - b
    if prop == "bright":
        return 0.299 * r + 0.587 * g + 0.114 * b
    if prop == "green":
        return g - (r + b) / 2
    raise SystemExit(f"unknown property {prop}")


prop, threshold, paths = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
values = [measure(prop, p) for p in paths]
print(" ".join(f"{v:.1f}" for v in values), file=sys.stderr)
for v in values:
    print("accept" if v > threshold else "reject")
