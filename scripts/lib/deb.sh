# Helper for the scripts that fetch training images from Debian's archive
# (fetch_training_data.sh, fetch_more_training_data.sh, fetch_heldout_photos.sh);
# source it.

# fetch_deb PACKAGE=VERSION SHA256 DIR: downloads the package into DIR/dl, checks
# its SHA-256 and unpacks it into DIR/x (both emptied first); fails on a mismatch.
fetch_deb() {
  local spec="$1" sha="$2" dir="$3" deb got
  rm -rf "$dir/dl" "$dir/x" && mkdir -p "$dir/dl"
  (cd "$dir/dl" && apt-get download "$spec" >/dev/null)
  deb="$(ls "$dir"/dl/*.deb)"
  got="$(sha256sum "$deb" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "checksum mismatch for $(basename "$deb"): $got (expected $sha)" >&2
    return 1
  fi
  dpkg-deb -x "$deb" "$dir/x"
}

# prepare_jpeg SRC DEST: writes SRC to DEST as the working copy: flattened over black,
# shorter side at most 1440 px (training and the benchmark read less), JPEG quality 95.
prepare_jpeg() {
  convert "$1" -background black -alpha remove -alpha off -colorspace sRGB -type TrueColor \
    -resize '1440x1440^>' -quality 95 "JPEG:$2"
}

# prepare_backgrounds SRC OUT: every .jpg/.png under SRC, in sorted order, written to
# OUT/NAME.jpg by prepare_jpeg; prints how many.
prepare_backgrounds() {
  local f name n=0
  while IFS= read -r -d '' f; do
    name="$(basename "$f")"
    prepare_jpeg "$f" "$2/${name%.*}.jpg"
    n=$((n + 1))
  done < <(find "$1" -type f \( -name '*.jpg' -o -name '*.png' \) -print0 | sort -z)
  echo "$n"
}
