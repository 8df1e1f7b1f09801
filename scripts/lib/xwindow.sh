# Helpers for the scripts that drive the release binary in a real window
# (window-smoke.sh, bench-ui-during-refine.sh, bench-paint-memory.sh); source it.

# Starts a 1400×900 Xvfb on a random display, exports DISPLAY, sets XVFB to
# its pid and waits (up to 5 s) until it answers.
start_xvfb() {
  DISPLAY=":$((90 + RANDOM % 100))"
  export DISPLAY
  Xvfb "$DISPLAY" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
  XVFB=$!
  for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && return 0; sleep 0.1; done
}

# Polls every 50 ms (xdotool's own --sync polls every half second), for up
# to 30 s, for Atelier's main window; sets WIN, and fails if none appeared.
wait_for_window() {
  WIN=""
  for _ in $(seq 600); do
    WIN=$(xdotool search --onlyvisible --name 'Atelier$' 2>/dev/null | head -n1)
    [ -n "$WIN" ] && return 0
    sleep 0.05
  done
  return 1
}

# One diagonal stroke across the canvas, as one xdotool command line: one
# process per stroke (its own `sleep` paces the moves), because starting a
# process per pointer event would take CPU from the app being measured.
STROKE="mousemove 450 250 mousedown 1"
for x in $(seq 460 10 800); do STROKE="$STROKE sleep 0.016 mousemove $x $((250 + (x - 450) / 3))"; done
STROKE="$STROKE mouseup 1"

# Paints STROKE over and over for $1 seconds; sets STROKES to the count.
paint_for() {
  local end=$(( $(date +%s) + $1 ))
  STROKES=0
  while [ "$(date +%s)" -lt "$end" ]; do
    # shellcheck disable=SC2086
    xdotool $STROKE
    STROKES=$((STROKES + 1))
  done
}
