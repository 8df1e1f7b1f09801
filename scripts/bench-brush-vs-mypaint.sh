#!/usr/bin/env bash
# Side-by-side dab throughput: `atelier bench brush` against libmypaint 1.6's
# fixed tiled surface on the same workload (4096² canvas, radius 16, hardness
# 0.8, opacity 0.5, spacing 0.5·radius serpentine stroke and random
# positions), single-threaded, in one run. Prints JSON lines and the ratios.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
source "$HERE/env.sh"
cd "$ROOT"
DABS="${1:-200000}"
cargo build --release --quiet --bin atelier
mkdir -p target/bench
gcc -O2 -o target/bench/mypaint_bench benches/mypaint_bench.c $(pkg-config --cflags --libs libmypaint)
# libmypaint: one atomic section (its fastest mode here) and per-64-dab sections.
mp=$(target/bench/mypaint_bench "$DABS" 16 0)
mp64=$(target/bench/mypaint_bench "$DABS" 16 64)
at=$(target/release/atelier bench brush --dabs "$DABS" --radius 16 --json)
atu=$(target/release/atelier bench brush --dabs "$DABS" --radius 16 --json --with-undo)
printf '%s\n' "$mp" "$mp64" "$at" "$atu"
python3 - "$mp" "$mp64" "$at" "$atu" <<'PY'
import json, sys
rows = [json.loads(l) for arg in sys.argv[1:] for l in arg.splitlines()]
best = {}
for r in rows:
    if r["engine"] == "libmypaint":
        best[r["pattern"]] = max(best.get(r["pattern"], 0), r["dabs_per_second"])
for r in rows:
    if r["engine"] == "atelier":
        tag = " (with undo recording)" if r["with_undo"] else ""
        print(f'{r["pattern"]:>6}{tag}: atelier {r["dabs_per_second"]:,.0f} dabs/s vs libmypaint best {best[r["pattern"]]:,.0f} = {r["dabs_per_second"]/best[r["pattern"]]:.2f}x')
PY
