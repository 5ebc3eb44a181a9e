#!/usr/bin/env bash
# Every JSON output that a refactor must leave byte-identical, written into
# one folder per build so that two builds (or two thread counts) compare
# with `diff -r`:
#
#   bench/outputs.sh BIN OUT [EXTRA ARG ...]
#   bench/outputs.sh target/release/section-access /tmp/new --threads 1
#   diff -r /tmp/old /tmp/new
#
# Covers `check`, `audit` and `preview` (three identities) with
# `--format json` on every script under fixtures/, the corpus scripts in
# ../shared/corpus/real-scripts (when present), and the generated apps under
# bench/apps/{S,M} (when generated: bench/compare.sh S M makes them). Exit
# codes are kept beside each output, errors too: a script that fails must
# fail the same way.
set -uo pipefail

bin="$1"
out="$2"
shift 2
extra=("$@")
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"

scripts=()
while IFS= read -r f; do scripts+=("$f"); done < <(
    cd "$root" && find fixtures -name '*.qvs' | sort
    [[ -d "$root/../shared/corpus/real-scripts" ]] &&
        find "$(cd "$root/../shared/corpus/real-scripts" && pwd)" -type f \( -name '*.qvs' -o -name '*.txt' \) | sort
    for app in S M; do
        [[ -f "$root/bench/apps/$app/app.qvs" ]] && echo "bench/apps/$app/app.qvs"
    done
)

run() {
    local name="$1"
    shift
    (cd "$root" && "$bin" "$@" "${extra[@]}") >"$out/$name.out" 2>"$out/$name.err"
    echo "$?" >"$out/$name.code"
}

for s in "${scripts[@]}"; do
    key="$(echo "$s" | sed 's|.*/shared/|shared/|; s|/|__|g')"
    run "$key.check" check "$s" --format json
    run "$key.audit" audit "$s" --format json
    run "$key.preview-anna" preview "$s" --user anna --format json
    run "$key.preview-user5" preview "$s" --user USER5 --group GROUP3 --format json
    run "$key.preview-admin" preview "$s" --user admin --group finance --email a@b.c --format json
done
echo "${#scripts[@]} scripts, $(find "$out" -name '*.out' | wc -l) outputs in $out" >&2
