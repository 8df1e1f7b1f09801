#!/usr/bin/env bash
# Fuzzes the project reader with cargo-fuzz (libFuzzer + AddressSanitizer) for
# SECONDS (default 300), seeded with real projects made by the release binary.
# Needs a nightly toolchain and `cargo install cargo-fuzz`.
# Findings land in fuzz/artifacts/project_reader/; record runs in BENCHMARKS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-300}"
BIN="$ROOT/target/release/atelier"
CORPUS="$ROOT/fuzz/corpus/project_reader"
mkdir -p "$CORPUS"
if [ -x "$BIN" ] && [ -z "$(ls -A "$CORPUS")" ]; then
  seeds="$(mktemp -d)"
  "$BIN" new "$seeds/blank.atelier" --size 64x48 >/dev/null
  "$BIN" new "$seeds/clear.atelier" --size 33x17 --background transparent >/dev/null
  printf '{"strokes":[{"color":"#c81e1e","brush":{},"samples":[{"x":5,"y":5},{"x":50,"y":40}]}]}' >"$seeds/s.json"
  "$BIN" paint "$seeds/blank.atelier" --strokes "$seeds/s.json" >/dev/null || true
  "$BIN" export "$seeds/blank.atelier" --out "$seeds/plain.ora" >/dev/null
  cp "$seeds"/*.atelier "$seeds"/*.ora "$CORPUS/"
  rm -rf "$seeds"
fi
cd "$ROOT/fuzz"
# -rss_limit_mb: the reader's own limits must keep memory bounded.
cargo +nightly fuzz run project_reader "$CORPUS" -- \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1
