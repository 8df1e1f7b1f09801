#!/usr/bin/env python3
"""Selects the pictures of one unpacked package and writes them to the corpus.

Usage (scripts/fetch_corpus.sh calls it once per package):
  corpus_select.py --source NAME --package PKG --version VER --root UNPACKED \
      --copyright FILE --out data/corpus/NAME --corpus data/corpus [--jobs 2]

Appends one row per kept picture to OUT/manifest.tsv and one row per dropped
candidate to OUT/rejected.tsv (path and reason). Per-source rules are in
corpus_sources.py; the generic filters, in the order they run, are:

  name      file name marks a non-picture (normal/bump/height/specular/gloss/glow/
            AO/mask/light maps, fonts, cursors, icons, atlases, sprite sheets), or a
            folder of them (corpus_sources.NON_PICTURE_NAME / NON_PICTURE_DIR);
  licence   the file's licence (debian/copyright, per-file stanza) forbids
            derivatives or commercial use (ND, NC), or is not one we recognise;
  small     shorter side < 256 px (read from the header; nothing is decoded);
  strip     aspect ratio above 4:1 (sprite strips, skybox strips, banners);
  alpha     under 25% of the pixels visible (a source may lower it: 12% for
            openclipart and emoji, whose pictures are objects on transparency):
            sprites, decals, particles, masks;
  sheet     the visible pixels form 3 or more blocks separated by fully transparent
            rows or columns: sprite sheets and animation strips;
  normal    more than 60% of the pixels are normal-map colours (blue > 170 with red
            and green within 60 of 128, mean about (128,128,255));
  grey      no colour (mean max-min channel spread < 6): height, specular and gloss
            maps, masks, monochrome scans;
  colours   fewer than 48 distinct colours in a nearest-neighbour 256 px thumbnail:
            flat UI art, pixel art, masks, indexed icons;
  flat      one exact colour covers more than half of the visible pixels (the unused
            area of UV atlases, screenshots of menus), or the luminance has a
            standard deviation under 8 (plain fills);
  duplicate the 64-bit difference hash of the picture equals one already kept in
            this or an earlier source (the same texture shipped by several games,
            translated copies);
  unreadable the decoder failed.

Kept pictures are flattened over neutral grey (128,128,128), scaled with Lanczos so
that the shorter side is at most 768 px (never enlarged), and written as sRGB JPEG,
quality 92, 4:4:4 chroma, to OUT/NAME.jpg, NAME being the path inside the package
with the common prefix removed and "/" replaced by "__".
"""

import argparse
import hashlib
import io
import os
import re
import sys
import zipfile
from multiprocessing import Pool

import numpy as np
from PIL import Image, ImageFile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_sources  # noqa: E402
from corpus_copyright import Copyright  # noqa: E402

Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False
EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tga", ".dds", ".bmp", ".gif")
ARCHIVES = (".pk3", ".zip")
MIN_SHORT = 256
MAX_SHORT = 768
BG = (128, 128, 128)
FREE = re.compile(
    r"^(L?GPL|AGPL|CC-BY(-SA)?-|CC-BY(-SA)?$|CC0|public-domain|PD$|MIT|Expat|BSD|zlib|Zlib|"
    r"Apache|Free-Art|LAL|WTFPL|GFDL|X11|BSL|ISC|OFL)", re.I)
NONFREE = re.compile(r"(^|[-\s])(ND|NC)([-\s]|$)|NoDeriv|NonCommercial|unknown", re.I)
MANIFEST_COLS = ["file", "source", "package", "version", "path", "licence", "sha256",
                 "width", "height", "kind"]


def licence_ok(lic):
    if not lic or NONFREE.search(lic):
        return False
    # Every alternative/conjunct must be free ("A or B": one is enough).
    for alt in re.split(r"\s+or\s+", lic, flags=re.I):
        parts = re.split(r"\s+(?:and|AND)\s+|\s*,\s*", alt.strip())
        if all(FREE.match(p.strip()) for p in parts if p.strip()):
            return True
    return False


def dhash(img):
    g = np.asarray(img.convert("L").resize((9, 8), Image.BILINEAR), dtype=np.int16)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return "%016x" % int("".join("1" if b else "0" for b in bits), 2)


def runs(mask):
    """Number of blocks of True separated by gaps of at least 2 False."""
    n, gap, inside = 0, 2, False
    for v in mask:
        if v:
            if not inside and gap >= 2:
                n += 1
            inside, gap = True, 0
        else:
            gap += 1
            if gap >= 2:
                inside = False
    return n


def judge(img, kind, min_alpha=0.25):
    """Returns a rejection reason or None. img: RGBA, full size."""
    w, h = img.size
    if max(w, h) > 4 * min(w, h):
        return "strip"
    s = 256 / min(w, h)
    tw, th = max(1, round(w * s)), max(1, round(h * s))
    thumb = img.resize((tw, th), Image.NEAREST)
    a = np.asarray(thumb, dtype=np.uint8)
    alpha = a[..., 3]
    vis = alpha > 128
    cov = vis.mean()
    if cov < min_alpha:
        return "alpha"
    if cov < 0.98:
        anyv = alpha > 16
        if runs(anyv.any(axis=1)) >= 3 or runs(anyv.any(axis=0)) >= 3:
            return "sheet"
    rgb = a[..., :3][vis].astype(np.int16)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    if ((b > 170) & (np.abs(r - 128) < 60) & (np.abs(g - 128) < 60)).mean() > 0.6:
        return "normal"
    if (rgb.max(axis=1) - rgb.min(axis=1)).mean() < 6:
        return "grey"
    packed = (rgb[:, 0].astype(np.int32) << 16) | (rgb[:, 1].astype(np.int32) << 8) | rgb[:, 2]
    uniq, counts = np.unique(packed, return_counts=True)
    if len(uniq) < 48:
        return "colours"
    if counts.max() > 0.5 * len(packed):
        return "flat"
    lum = 0.299 * r + 0.587 * g + 0.114 * b
    if lum.std() < 8:
        return "flat"
    return None


def open_candidate(root, path):
    if "!" in path:
        arc, member = path.split("!", 1)
        with zipfile.ZipFile(os.path.join(root, arc)) as z:
            data = z.read(member)
        return Image.open(io.BytesIO(data))
    return Image.open(os.path.join(root, path))


def work(job):
    root, path, outfile, kind, min_alpha = job
    try:
        im = open_candidate(root, path)
        w, h = im.size
        if min(w, h) < MIN_SHORT:
            return path, "small", None
        im.load()
        img = im.convert("RGBA")
    except Exception as e:  # noqa: BLE001
        return path, "unreadable", None
    why = judge(img, kind, min_alpha)
    if why:
        return path, why, None
    flat = Image.new("RGB", img.size, BG)
    flat.paste(img, mask=img.getchannel("A"))
    s = min(1.0, MAX_SHORT / min(w, h))
    if s < 1.0:
        flat = flat.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    buf = io.BytesIO()
    flat.save(buf, "JPEG", quality=92, subsampling=0)
    data = buf.getvalue()
    tmp = outfile + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, outfile)
    return path, None, (hashlib.sha256(data).hexdigest(), flat.size[0], flat.size[1], dhash(flat))


def list_candidates(root):
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for f in sorted(fn):
            full = os.path.join(dp, f)
            rel = os.path.relpath(full, root)
            low = f.lower()
            if low.endswith(EXTS):
                yield rel
            elif low.endswith(ARCHIVES):
                try:
                    with zipfile.ZipFile(full) as z:
                        for m in sorted(z.namelist()):
                            if m.lower().endswith(EXTS):
                                yield rel + "!" + m
                except zipfile.BadZipFile:
                    pass


def out_name(path, prefix_len, used):
    p = path.replace("!", "/")
    parts = p.split("/")[prefix_len:] or p.split("/")[-1:]
    stem = "__".join(parts)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", stem)
    stem = re.sub(r"[^A-Za-z0-9._+@-]", "_", stem).lstrip(".")
    tag = hashlib.sha1(path.encode()).hexdigest()[:8]
    if len(stem) > 120:
        stem = stem[:110] + "-" + tag
    if stem.lower() in used:
        stem = stem + "-" + tag
    used.add(stem.lower())
    return stem + ".jpg"


def main():
    ap = argparse.ArgumentParser()
    for a in ("source", "package", "version", "root", "copyright", "out", "corpus"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    rules = corpus_sources.SOURCES[args.source]
    inc = [re.compile(r) for r in rules.get("include", [])]
    exc = [re.compile(r) for r in rules.get("exclude", [])]
    kinds = [(re.compile(r), k) for r, k in rules.get("kinds", [])]
    lic_fn = getattr(corpus_sources, rules["licence_fn"]) if rules.get("licence_fn") else None
    name_re = re.compile(corpus_sources.NON_PICTURE_NAME, re.I)
    dir_re = re.compile(corpus_sources.NON_PICTURE_DIR, re.I)
    cr = Copyright(open(args.copyright, encoding="utf-8", errors="replace").read()) \
        if os.path.exists(args.copyright) else Copyright("")

    os.makedirs(args.out, exist_ok=True)
    # Hashes of pictures already kept (earlier sources, earlier packages of this one).
    seen = set()
    for d in sorted(os.listdir(args.corpus)):
        mf = os.path.join(args.corpus, d, "manifest.tsv")
        if os.path.exists(mf):
            for line in open(mf, encoding="utf-8"):
                cols = line.rstrip("\n").split("\t")
                if len(cols) > len(MANIFEST_COLS) and cols[0] != "file":
                    seen.add(cols[-1])
    used = {os.path.splitext(f)[0].lower() for f in os.listdir(args.out) if f.endswith(".jpg")}

    cands = [c for c in list_candidates(args.root) if not inc or any(r.search(c) for r in inc)]
    prefix_len = 0
    if len(cands) > 1:
        common = os.path.commonpath([os.path.dirname(c.replace("!", "/")) for c in cands])
        prefix_len = len(common.split("/")) if common else 0
    rejected, jobs, meta = [], [], {}
    for path in cands:
        base = os.path.basename(path.split("!")[-1])
        dirpart = os.path.dirname(path.replace("!", "/"))
        if any(r.search(path) for r in exc):
            rejected.append((path, "excluded-path"))
            continue
        if name_re.search(os.path.splitext(base)[0]) or dir_re.search(dirpart):
            rejected.append((path, "name"))
            continue
        lic = (lic_fn(args.root, path) if lic_fn else None) or cr.licence(path.split("!")[0]) \
            or rules["licence"]
        if not licence_ok(lic):
            rejected.append((path, "licence:" + lic))
            continue
        kind = next((k for r, k in kinds if r.search(path)), rules["kind"])
        outfile = os.path.join(args.out, out_name(path, prefix_len, used))
        meta[path] = (lic, kind, outfile)
        jobs.append((args.root, path, outfile, kind, rules.get("min_alpha", 0.25)))

    kept = 0
    with open(os.path.join(args.out, "manifest.tsv"), "a", encoding="utf-8") as mf, \
            Pool(args.jobs) as pool:
        for path, why, res in pool.imap(work, jobs, chunksize=4):
            if why is None:
                sha, w, h, dh = res
                lic, kind, outfile = meta[path]
                if dh in seen:
                    os.remove(outfile)
                    rejected.append((path, "duplicate"))
                    continue
                seen.add(dh)
                rel = os.path.relpath(outfile, args.corpus)
                mf.write("\t".join([rel, args.source, args.package, args.version, path, lic, sha,
                                    str(w), str(h), kind, dh]) + "\n")
                kept += 1
            else:
                rejected.append((path, why))
    with open(os.path.join(args.out, "rejected.tsv"), "a", encoding="utf-8") as rf:
        for path, why in rejected:
            rf.write(f"{args.package}\t{path}\t{why}\n")
    reasons = {}
    for _, why in rejected:
        key = why.split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    print(f"{args.package}: {kept} kept of {len(cands)} candidates; dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())),
          file=sys.stderr)


if __name__ == "__main__":
    main()
