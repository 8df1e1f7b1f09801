#!/usr/bin/env bash
# Fetches the default model's training images reproducibly from Debian's archive:
# the photographs and paintings of mate-backgrounds 1.26.0-1 (GPL-2+ and
# CC-BY-SA-4.0, see the package's debian/copyright, copied next to the images).
# Held-out images for the quality benchmark go to a separate folder and are never
# trained on.
#
# Eight of the wallpapers keep their picture in the alpha channel over a flat white or
# black, and the desktop draws them over a colour gradient named in the package's
# mate-background-properties XML. They are flattened here over that gradient (with
# ImageMagick), so the images are what the desktop shows; otherwise a loader that
# drops alpha sees blank images.
#
# Usage: scripts/fetch_training_data.sh [DEST]   (default: data/mate-backgrounds)
# Produces DEST/train/*.jpg|png, DEST/heldout/*.jpg|png, DEST/copyright.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/deb.sh"
DEST="${1:-data/mate-backgrounds}"
PKG="mate-backgrounds"
VERSION="1.26.0-1"
SHA256="7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04"
HELDOUT=(nature/Storm.jpg nature/LadyBird.jpg nature/Wood.jpg abstract/Flow.png)
# Duplicates (other resolutions of Elephants.jpg) and an image without a licence line.
SKIP=(abstract/Elephants_3840x2160.jpg abstract/Elephants_5640x3172.jpg abstract/Arc-Colors-Transparent-Wallpaper.png)
# file, gradient direction (horizontal-gradient = east, vertical-gradient = south),
# pcolor, scolor: from usr/share/mate-background-properties/*.xml of this version.
FLATTEN=(
  "abstract/Flow.png east #27587E #627F5A"
  "abstract/Gulp.png east #627F5A #27587E"
  "abstract/Silk.png east #27587E #627F5A"
  "abstract/Spring.png south #27587E #627F5A"
  "abstract/Waves.png east #27587E #627F5A"
  "desktop/Stripes.png south #5891BC #44A52A"
  "desktop/MATE-Stripes-Dark.png south #BADA55 #85D45B"
  "desktop/MATE-Stripes-Light.png south #3F4D28 #6A9426"
)
command -v convert >/dev/null || { echo "needs ImageMagick (scripts/system-deps.sh installs it)" >&2; exit 1; }

# Copies $1 to $2, flattened over its desktop gradient if FLATTEN names it.
place() {
  local rel="$1" to="$2" entry
  for entry in "${FLATTEN[@]}"; do
    read -r file dir pcolor scolor <<<"$entry"
    if [[ "$rel" == "$file" ]]; then
      convert -size "$(identify -format '%wx%h' "$src/$rel")" -define gradient:direction="$dir" \
        "gradient:$pcolor-$scolor" "$src/$rel" -composite -alpha off "PNG24:$to"
      return
    fi
  done
  cp "$src/$rel" "$to"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fetch_deb "$PKG=$VERSION" "$SHA256" "$work"
src="$work/x/usr/share/backgrounds/mate"
mkdir -p "$DEST/train" "$DEST/heldout"
cp "$work/x/usr/share/doc/$PKG/copyright" "$DEST/copyright"
n_train=0; n_held=0
while IFS= read -r -d '' f; do
  rel="${f#"$src"/}"
  name="$(echo "$rel" | tr '/' '_')"
  for s in "${SKIP[@]}"; do [[ "$rel" == "$s" ]] && continue 2; done
  held=0
  for h in "${HELDOUT[@]}"; do [[ "$rel" == "$h" ]] && held=1; done
  if [[ $held == 1 ]]; then place "$rel" "$DEST/heldout/$name"; n_held=$((n_held+1));
  else place "$rel" "$DEST/train/$name"; n_train=$((n_train+1)); fi
done < <(find "$src" -type f \( -name '*.jpg' -o -name '*.png' \) -print0 | sort -z)
echo "$n_train training images in $DEST/train, $n_held held-out images in $DEST/heldout" >&2
