#!/usr/bin/env bash
# section-access against DuckDB (../shared/bench/duckdb_ref.py) on the
# generated apps S, M and L, side by side: median wall time and peak memory
# of N runs (default 3) of `preview --user USER5 --group GROUP3` and
# `audit --format json`, the audit's per-identity row counts checked against
# DuckDB's, and `check` on scripts with a 1,000,000-row INLINE security
# table in two layouts. Each app is also stored as QVD files (by the tool's
# own STORE, `--write-stores`) and as Parquet for DuckDB (read in place,
# DuckDB at its best): preview and audit from QVD beside DuckDB on Parquet
# and beside our own run from CSV. Prints markdown tables.
#
#   bench/compare.sh [-n RUNS] [APP ...]      APP: S, M, L (default: all)
#
# BIN=path measures that binary instead of building this checkout (an
# older build, for before/after); SA_ARGS="--threads 1" adds arguments to
# every section-access command (thread counts compared).
#
# Needs python3 with duckdb (`pip install duckdb`), GNU time
# (/usr/bin/time), and a release build (made here). Apps are generated
# under bench/apps/ (git-ignored) unless already there.
set -euo pipefail

runs=3
if [[ "${1:-}" == "-n" ]]; then
    runs="$2"
    shift 2
fi
apps=("$@")
[[ ${#apps[@]} -gt 0 ]] || apps=(S M L)

root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "$root/../shared/bench" 2>/dev/null || cd "$root/../../shared/bench" && pwd)"
work="$root/bench/apps"
mkdir -p "$work"
[[ -x /usr/bin/time ]] || { echo "GNU time is needed: apt-get install -y time" >&2; exit 1; }
python3 -c 'import duckdb' 2>/dev/null || { echo "python3 -m pip install duckdb" >&2; exit 1; }

if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    (cd "$root" && cargo build --release --quiet)
    bin="${CARGO_TARGET_DIR:-$root/target}/release/section-access"
fi
read -r -a sa_args <<<"${SA_ARGS:-}"

args_for() {
    case "$1" in
        S) echo "" ;;
        M) echo "--users 10000 --groups 200 --countries 200 --customers 100000 --products 20000 --sales 1000000" ;;
        L) echo "--users 100000 --groups 200 --countries 200 --customers 1000000 --products 50000 --sales 10000000" ;;
        *) echo "unknown app $1" >&2; exit 1 ;;
    esac
}

# Median of N runs of a command: prints "seconds peak_kib"; the command's
# stdout goes to $out.
measure() {
    local out="$1"
    shift
    local times=() mems=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %M' -o "$work/.time" "$@" >"$out" 2>/dev/null
        read -r t m <"$work/.time"
        times+=("$t")
        mems+=("$m")
    done
    local mt mm
    mt=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
    mm=$(printf '%s\n' "${mems[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")
    echo "$mt $mm"
}

rows=()
qrows=()
for app in "${apps[@]}"; do
    dir="$work/$app"
    if [[ ! -f "$dir/app.qvs" ]]; then
        echo "generating app $app ..." >&2
        # shellcheck disable=SC2046
        python3 "$shared/gen.py" "$dir" $(args_for "$app")
    fi
    mb=$(du -cm "$dir"/*.csv | tail -1 | cut -f1)
    echo "app $app ($mb MB): preview ..." >&2
    read -r sp sm < <(measure "$work/.sa-preview.json" \
        "$bin" "${sa_args[@]}" preview "$dir/app.qvs" --user USER5 --group GROUP3 --format json)
    read -r dp dm < <(measure "$work/.duck-preview.json" \
        python3 "$shared/duckdb_ref.py" "$dir" preview USER5 GROUP3)
    python3 - "$work/.sa-preview.json" "$work/.duck-preview.json" <<'EOF'
import json, sys
ours, duck = (json.load(open(p)) for p in sys.argv[1:3])
got = {k.lower(): v["rows"] for k, v in ours["tables"].items()}
if ours["decision"] != duck["decision"] or got != duck.get("rows", got):
    sys.exit(f"preview differs from duckdb: {got} vs {duck}")
EOF
    echo "app $app: audit ..." >&2
    read -r sa sam < <(measure "$work/.sa-audit.json" "$bin" "${sa_args[@]}" audit "$dir/app.qvs" --format json)
    read -r da dam < <(measure /dev/null \
        python3 "$shared/duckdb_ref.py" "$dir" audit "$work/.duck-audit.json")
    python3 - "$work/.sa-audit.json" "$work/.duck-audit.json" <<'EOF'
import json, sys
ours = json.load(open(sys.argv[1]))["identities"]
duck = json.load(open(sys.argv[2]))
seen, bad = 0, []
for e in ours:
    i = e["identity"]
    if i["groups"] or i["email"] or i["userid"] is None:
        continue
    seen += 1
    want = duck.get(i["userid"])
    got = {k.lower(): v["rows"] for k, v in e["tables"].items()}
    if want is None or e["decision"] != want["decision"] or (
            want["decision"] == "granted" and got != want["rows"]):
        bad.append((i["userid"], got, want))
if seen != len(duck) or bad:
    sys.exit(f"audit differs from duckdb: {seen} vs {len(duck)} users, {len(bad)} differ, e.g. {bad[:3]}")
print(f"audit: {seen} identities, row counts equal to duckdb's", file=sys.stderr)
EOF
    rows+=("$app|$mb|preview|$sp|$dp|$sm|$dm")
    rows+=("$app|$mb|audit|$sa|$da|$sam|$dam")

    # The same app from QVD files (ours) and Parquet files (DuckDB's).
    q="$work/$app-qvd"
    if [[ ! -f "$q/sales.qvd" || ! -f "$q/sales.parquet" || "$dir/app.qvs" -nt "$q/sales.qvd" ]]; then
        echo "app $app: storing as QVD and Parquet ..." >&2
        mkdir -p "$q"
        {
            # The app's relative paths are read from its own folder.
            echo "DIRECTORY [$dir];"
            echo "\$(Must_Include=$dir/app.qvs);"
            for t in SecurityTable:section_access Customers:customers Sales:sales Products:products; do
                echo "STORE ${t%%:*} INTO [$q/${t##*:}.qvd] (qvd);"
            done
        } >"$q/store.qvs"
        "$bin" check "$q/store.qvs" --write-stores >/dev/null
        cat >"$q/app.qvs" <<'EOF'
// The generated app from QVD files written by section-access's STORE.
Star is *;
Section Access;
SecurityTable:
LOAD * FROM [section_access.qvd] (qvd);
Section Application;
Customers:
LOAD * FROM [customers.qvd] (qvd);
Sales:
LOAD * FROM [sales.qvd] (qvd);
Products:
LOAD * FROM [products.qvd] (qvd);
EOF
        python3 - "$dir" "$q" <<'EOF'
import duckdb, sys
src, out = sys.argv[1:3]
con = duckdb.connect()
for t in ("section_access", "customers", "sales", "products"):
    con.execute(f"COPY (SELECT * FROM read_csv('{src}/{t}.csv', header=true, all_varchar=true)) "
                f"TO '{out}/{t}.parquet' (FORMAT parquet)")
EOF
    fi
    echo "app $app: preview and audit from QVD ..." >&2
    read -r qp qpm < <(measure "$work/.sa-preview-qvd.json" \
        "$bin" "${sa_args[@]}" preview "$q/app.qvs" --user USER5 --group GROUP3 --format json)
    read -r pp ppm < <(measure /dev/null python3 "$shared/duckdb_ref.py" "$q" preview USER5 GROUP3)
    read -r qa qam < <(measure "$work/.sa-audit-qvd.json" "$bin" "${sa_args[@]}" audit "$q/app.qvs" --format json)
    read -r pa pam < <(measure /dev/null python3 "$shared/duckdb_ref.py" "$q" audit "$work/.duck-audit-pq.json")
    python3 - "$work/.sa-preview-qvd.json" "$work/.sa-preview.json" "$work/.sa-audit-qvd.json" "$work/.sa-audit.json" <<'EOF'
import json, sys
pq, pc, aq, ac = (json.load(open(p)) for p in sys.argv[1:5])
counts = lambda e: (e["decision"], {k: v["rows"] for k, v in e["tables"].items()})
if counts(pq) != counts(pc):
    sys.exit(f"preview from QVD differs from CSV: {counts(pq)} vs {counts(pc)}")
if [counts(e) for e in aq["identities"]] != [counts(e) for e in ac["identities"]]:
    sys.exit("audit from QVD differs from the audit from CSV")
EOF
    qrows+=("$app|preview|$qp|$pp|$sp|$qpm|$sm")
    qrows+=("$app|audit|$qa|$pa|$sa|$qam|$sam")
done

# check on 1,000,000-row INLINE security tables, in two layouts:
#   groups: ACCESS, USERID, GROUP, COUNTRY -- a user id and a group on
#     each row (both must match, so no listed identity matches a row: the
#     audit behind check has one key to decide);
#   users: ACCESS, USERID, COUNTRY -- each user matches a row of their own
#     (a million distinct keys to group and decide).
make_inline() {
    python3 - "$1" "$2" <<'EOF'
import sys
path, layout = sys.argv[1], sys.argv[2]
with open(path, "w") as f:
    if layout == "groups":
        f.write("Section Access;\nSA:\nLOAD * INLINE [\nACCESS, USERID, GROUP, COUNTRY\n")
        for i in range(1_000_000):
            f.write(f"USER, USER{i}, GROUP{i % 50}, C{i % 200:03d}\n")
    else:
        f.write("Section Access;\nSA:\nLOAD * INLINE [\nACCESS, USERID, COUNTRY\n")
        for i in range(1_000_000):
            f.write(f"USER, USER{i}, C{i % 200:03d}\n")
    f.write("];\nSection Application;\nData:\nLOAD * INLINE [\nCOUNTRY, X\nC001, 1\n];\n")
EOF
}
checks=()
for layout in groups users; do
    inline="$work/inline-1m-$layout.qvs"
    [[ -f "$inline" ]] || make_inline "$inline" "$layout"
    echo "check: 1,000,000-row INLINE table ($layout) ..." >&2
    read -r ct cm < <(measure /dev/null "$bin" "${sa_args[@]}" check "$inline")
    checks+=("$layout|$(stat -c %s "$inline")|$ct|$cm")
done

ratio() { python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"; }
gib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1048576:.2f}')" "$1"; }

echo
echo "Median of $runs runs, $(nproc) cores; wall seconds and peak RSS (GiB); ratio = section-access / DuckDB."
echo
echo "| app | CSV MB | command | section-access s | DuckDB s | time ratio | section-access GiB | DuckDB GiB | memory ratio |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
    IFS='|' read -r app mb cmd st dt smem dmem <<<"$r"
    echo "| $app | $mb | $cmd | $st | $dt | $(ratio "$st" "$dt") | $(gib "$smem") | $(gib "$dmem") | $(ratio "$smem" "$dmem") |"
done
echo
echo "From QVD files (section-access) and Parquet files (DuckDB), against section-access from CSV:"
echo
echo "| app | command | from QVD s | DuckDB on Parquet s | from CSV s | QVD / Parquet | QVD / CSV | from QVD GiB | from CSV GiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for r in "${qrows[@]}"; do
    IFS='|' read -r app cmd qt pt ct qm cm <<<"$r"
    echo "| $app | $cmd | $qt | $pt | $ct | $(ratio "$qt" "$pt") | $(ratio "$qt" "$ct") | $(gib "$qm") | $(gib "$cm") |"
done
echo
for c in "${checks[@]}"; do
    IFS='|' read -r layout size ct cm <<<"$c"
    python3 -c "import sys; l, s, t, m = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]); print(f'\`check\` on a 1,000,000-row INLINE security table, {l} layout ({s / 1e6:.1f} MB): {t} s, {s / 1e6 / t:.0f} MB/s, {m / 1048576:.2f} GiB peak')" "$layout" "$size" "$ct" "$cm"
done
