#!/usr/bin/env bash
# UI responsiveness while a refinement trains on the CPU: runs the release
# binary in a real window under Xvfb, paints strokes with X events for a while
# (no refinement), then Varies, accepts a candidate, starts Refine model
# (Ctrl+R), paints for 25 s while it runs (the refinement pauses for the
# artist's input) and then leaves the window alone for 15 s (it computes).
# The app records per-frame UI work and frame intervals (ATELIER_FRAME_STATS)
# and the refinement steps made in each phase; the summary is printed.
# By default the app redraws continuously, so the interval is the frame time
# (ATELIER_FRAME_STATS_CONTINUOUS); CONTINUOUS=0 measures event-driven frames.
set -uo pipefail
BIN="${1:-target/release/atelier}"
OUT="$(mktemp -d)"
# shellcheck source=lib/xwindow.sh
source "$(dirname "$0")/lib/xwindow.sh"
start_xvfb
trap 'kill $XVFB 2>/dev/null; kill $APP 2>/dev/null' EXIT
export XDG_DATA_HOME="$OUT/data" XDG_CONFIG_HOME="$OUT/config"
mkdir -p "$XDG_CONFIG_HOME/atelier"
# A refinement long enough to paint through.
echo '{"refine_steps": 400}' >"$XDG_CONFIG_HOME/atelier/settings.json"
# FRAME_LOG=FILE also writes one CSV line per frame (ATELIER_FRAME_LOG).
[ -n "${FRAME_LOG:-}" ] && export ATELIER_FRAME_LOG="$FRAME_LOG"
ATELIER_FRAME_STATS_CONTINUOUS="${CONTINUOUS:-1}" ATELIER_FRAME_STATS="$OUT/frames.json" "$BIN" >"$OUT/app.log" 2>&1 &
APP=$!
wait_for_window || { cat "$OUT/app.log"; echo "no window"; exit 1; }
sleep 2
xdotool windowfocus --sync "$WIN" 2>/dev/null || true
paint_for 10
xdotool key ctrl+g
sleep 20
xdotool key 1
sleep 0.5
xdotool key Return
sleep 0.5
xdotool key ctrl+r
sleep 3
paint_for 25
xdotool mousemove 5 895
sleep 15
kill $APP 2>/dev/null
wait $APP 2>/dev/null
cat "$OUT/frames.json"
echo
grep -i "refine\|error" "$OUT/app.log" | head -5
