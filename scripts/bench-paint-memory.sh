#!/usr/bin/env bash
# Memory while painting: runs the release binary in a real window under Xvfb,
# paints strokes with X events for SECONDS (default 60) and prints the app's
# resident memory every 3 s. Undo history has a budget (512 MiB), so the
# figure should level off; steady growth means something keeps each frame.
#
# Usage: scripts/bench-paint-memory.sh [BIN] [SECONDS]
set -uo pipefail
BIN="${1:-target/release/atelier}"
SECONDS_TO_PAINT="${2:-60}"
OUT="$(mktemp -d)"
# shellcheck source=lib/xwindow.sh
source "$(dirname "$0")/lib/xwindow.sh"
start_xvfb
trap 'kill $XVFB 2>/dev/null; kill $APP 2>/dev/null; kill $WATCH 2>/dev/null' EXIT
export XDG_DATA_HOME="$OUT/data" XDG_CONFIG_HOME="$OUT/config"
"$BIN" >"$OUT/app.log" 2>&1 &
APP=$!
wait_for_window || { cat "$OUT/app.log"; echo "no window"; exit 1; }
sleep 2
xdotool windowfocus --sync "$WIN" 2>/dev/null || true
(
  t0=$(date +%s)
  while kill -0 "$APP" 2>/dev/null; do
    echo "$(( $(date +%s) - t0 )) s: $(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$APP/status") MiB resident"
    sleep 3
  done
) &
WATCH=$!
paint_for "$SECONDS_TO_PAINT"
echo "$STROKES strokes in $SECONDS_TO_PAINT s"
sleep 3
