#!/usr/bin/env bash
# Fetches a second held-out set for the quality benchmark reproducibly from Debian's
# archive: every image of lomiri-wallpapers-16.04 and lomiri-wallpapers-20.04
# 20.04.0-2 (CC-BY-4.0, CC-BY-SA-3.0/4.0 and CC0-1.0, per image in each package's
# debian/copyright, copied beside its images): 19 wallpapers, mostly photographs.
# Neither package is trained on (the default trains on mate-backgrounds,
# plasma-workspace-wallpapers and ukui-wallpapers), and every image is taken, none
# picked by hand. The four held-out images of scripts/fetch_training_data.sh are too
# few to measure realism by: one image's sketch moves the score by several points.
# Each image is prepared like the training copies (scripts/lib/deb.sh prepare_jpeg).
#
# Usage: scripts/fetch_heldout_photos.sh [DEST]   (default: data/heldout-photos)
# Produces DEST/16.04/*.jpg, DEST/20.04/*.jpg and a copyright file in each.
# Measure on both held-out sets together with
# `atelier bench gan-quality --data data/mate-backgrounds/heldout --data DEST`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/deb.sh"
DEST="${1:-data/heldout-photos}"
# package=version sha256 short-name
PACKAGES=(
  "lomiri-wallpapers-16.04=20.04.0-2 a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab 16.04"
  "lomiri-wallpapers-20.04=20.04.0-2 d44e89b8473aafe64a5b678f014862dc31335aaaf18665c544d985d854f1a709 20.04"
)
command -v convert >/dev/null || { echo "needs ImageMagick (scripts/system-deps.sh installs it)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total=0
for entry in "${PACKAGES[@]}"; do
  read -r spec sha short <<<"$entry"
  pkg="${spec%%=*}"
  fetch_deb "$spec" "$sha" "$work"
  out="$DEST/$short"
  mkdir -p "$out"
  cp "$work/x/usr/share/doc/$pkg/copyright" "$out/copyright"
  n="$(prepare_backgrounds "$work/x/usr/share/backgrounds" "$out")"
  echo "$n images from $pkg in $out" >&2
  total=$((total + n))
done
echo "$total images in $DEST" >&2
