#!/usr/bin/env bash
# Fetches more training images reproducibly from Debian's archive, to train beside
# mate-backgrounds (scripts/fetch_training_data.sh), whose 23 training images are
# mostly abstract while its held-out images are mostly photographs:
#   - plasma-workspace-wallpapers 4:5.27.5-2 (GPL-2+): 30 wallpapers, ten of them
#     photographs; the largest resolution of each;
#   - ukui-wallpapers 20.04.3-1.1 (CC-BY-SA-3.0): 12 wallpapers.
# Every image of both packages is taken, none picked by hand. Each is flattened over
# black (one, Patak, is translucent), scaled so its shorter side is at most 1440 px
# (training reads them at 768 px or less) and written as a JPEG of quality 95; each
# package's debian/copyright is copied beside its images.
#
# Usage: scripts/fetch_more_training_data.sh [DEST]   (default: data/more-wallpapers)
# Produces DEST/plasma/*.jpg, DEST/ukui/*.jpg and DEST/{plasma,ukui}/copyright.
# Train on both sets with `atelier train --data data/mate-backgrounds/train --data DEST`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/deb.sh"
DEST="${1:-data/more-wallpapers}"
# package=version sha256 short-name
PACKAGES=(
  "plasma-workspace-wallpapers=4:5.27.5-2 32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b plasma"
  "ukui-wallpapers=20.04.3-1.1 6d49be70152e6d603163458e177e501deb0be8f2916389ccbfcf59b0d7fc0262 ukui"
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
  n=0
  if [[ "$short" == plasma ]]; then
    # One folder per wallpaper, several resolutions in contents/images: the most pixels.
    for d in "$work"/x/usr/share/wallpapers/*/; do
      best="$(find "$d/contents/images" -type f \( -name '*.jpg' -o -name '*.png' \) \
        -exec identify -format '%w %h %i\n' {} \; 2>/dev/null |
        awk '{ n = $1 * $2; $1 = $2 = ""; sub(/^ +/, ""); printf "%d %s\n", n, $0 }' |
        sort -n | tail -1 | cut -d' ' -f2-)"
      [[ -n "$best" ]] || continue
      prepare_jpeg "$best" "$out/$(basename "$d").jpg"
      n=$((n + 1))
    done
  else
    n="$(prepare_backgrounds "$work/x/usr/share/backgrounds" "$out")"
  fi
  echo "$n images from $pkg in $out" >&2
  total=$((total + n))
done
echo "$total images in $DEST" >&2
