#!/usr/bin/env bash
# Two builds of section-access on the same command, runs interleaved
# (A, B, A, B, …) so that drift in the machine's speed hits both alike:
# median and best wall time, median CPU (user + sys) and peak memory.
# On a shared 2-core machine single runs vary by ±10%; a change of a few
# percent shows only this way.
#
#   bench/ab.sh N BIN_A BIN_B ARGS...
#   e.g. cp target/release/section-access /tmp/before   # then rebuild
#        bench/ab.sh 5 /tmp/before target/release/section-access \
#            audit bench/apps/L/app.qvs --format json
#
# Needs GNU time (/usr/bin/time) and python3.
set -euo pipefail
[[ $# -ge 4 ]] || { sed -n '2,13p' "$0" >&2; exit 2; }
n="$1" a="$2" b="$3"
shift 3
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for _ in $(seq "$n"); do
    for bin in "$a" "$b"; do
        /usr/bin/time -f "$bin %e %U %S %M" -o "$tmp" "$bin" "$@" >/dev/null 2>&1
        cat "$tmp"
    done
done | python3 -c '
import sys, statistics as st
runs = {}
for line in sys.stdin:
    b, w, u, s, m = line.rsplit(None, 4)
    runs.setdefault(b, []).append((float(w), float(u) + float(s), int(m)))
for b, v in runs.items():
    med = lambda i: st.median(x[i] for x in v)
    print(f"{b}: wall {med(0):.3f} s (best {min(x[0] for x in v):.3f}), cpu {med(1):.2f} s, {med(2) / 1024:.0f} MiB")'
