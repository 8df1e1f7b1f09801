#!/usr/bin/env bash
# Real-window smoke test: the release binary starts under Xvfb, shows the
# canvas, and exits cleanly on Ctrl+Q. Leaves a screenshot in
# target/window-smoke.png.
set -uo pipefail
BIN="${1:?usage: window-smoke.sh PATH/TO/atelier}"
OUT="$(dirname "$BIN")/../window-smoke.png"
# shellcheck source=lib/xwindow.sh
source "$(dirname "$0")/lib/xwindow.sh"
start_xvfb
trap 'kill $XVFB 2>/dev/null' EXIT
# Keep the autosave/recovery file of this run away from the user's own.
XDG_DATA_HOME="$(mktemp -d)"
export XDG_DATA_HOME

fail() { echo "window smoke: $1"; echo "window-smoke: 0 passed, 1 failed"; exit 1; }

start=$(date +%s.%N)
"$BIN" >"$(dirname "$BIN")/../window-smoke.log" 2>&1 &
APP=$!
wait_for_window || { kill $APP 2>/dev/null; cat "$(dirname "$BIN")/../window-smoke.log"; fail "no window appeared within 30 s"; }
shown=$(date +%s.%N)
sleep 2
# Paint a stroke across the canvas with real X pointer events.
xdotool windowfocus --sync "$WIN" 2>/dev/null || true
xdotool mousemove 500 300 mousedown 1
for x in $(seq 520 20 900); do xdotool mousemove "$x" $((300 + (x - 500) / 4)); sleep 0.02; done
xdotool mouseup 1
sleep 1
import -window root "$OUT" 2>/dev/null || fail "screenshot failed"
# The canvas is white on a dark grey backdrop: a blank or black screen has no spread.
spread=$(convert "$OUT" -format '%[fx:standard_deviation]' info: 2>/dev/null || echo 0)
awk "BEGIN{exit !($spread > 0.05)}" || fail "the screenshot is blank (spread $spread)"
# Undo the stroke (the document is clean again), then quit: no question asked.
xdotool key ctrl+z
sleep 0.3
xdotool key ctrl+q
for _ in $(seq 100); do kill -0 $APP 2>/dev/null || break; sleep 0.1; done
if kill -0 $APP 2>/dev/null; then kill $APP; fail "did not exit within 10 s of Ctrl+Q"; fi
wait $APP
code=$?
[ "$code" = 0 ] || fail "exited with status $code"
printf 'window smoke: window after %.2f s, screenshot %s\n' "$(echo "$shown - $start" | bc)" "$OUT"
echo "window-smoke: 1 passed, 0 failed"
