#!/usr/bin/env bash
# Installs the Debian packages headless rendering and the window test need, or,
# when it cannot (not root, no apt), names exactly what to install and fails.
set -euo pipefail
PKGS=(mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri xvfb x11-utils xdotool imagemagick bc libxkbcommon-x11-0 libmypaint-dev pkg-config patchelf desktop-file-utils shared-mime-info strace libimage-exiftool-perl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's own python3 needs python3-venv for `python3 -m venv` (scripts/env.sh).
if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "atelier: installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
  sudo apt-get update -qq
  sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "atelier: missing system packages; install them with:" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
