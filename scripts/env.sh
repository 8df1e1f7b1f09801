# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: makes sure the project-local torch
# environment exists and exports what the build needs to link libtorch.
# Idempotent: a second call only activates the environment.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TORCH_VERSION="2.13.0"

# pyora (an independent OpenRaster reader/writer) is for the interop tests.
if ! "$VENV/bin/python" -c "import torch, numpy, safetensors, pyora, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "atelier: installing torch==$TORCH_VERSION into $VENV (first run only, about a minute)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION" numpy safetensors "pyora==0.3.11"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
export LIBTORCH_USE_PYTORCH=1
# libtorch_cuda and friends sit in the same folder; the binary gets an rpath to
# it from build.rs, so no LD_LIBRARY_PATH is needed at run time.
