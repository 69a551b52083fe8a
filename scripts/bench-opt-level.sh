#!/usr/bin/env bash
# How the release profile's opt-level was chosen: builds get_client with the
# release profile at each opt-level (as custom profiles, so target/release
# is left alone) and measures
#   - size: the stripped native binary, and with BENCH_ARM64=1 the arm64
#     bootstrap from cargo lambda (slow: every level rebuilds everything);
#   - work: instructions (callgrind) of one cold start, exec to first answer
#     and exit, against the stubs of tools/lambda_bench;
#   - time: median cold request (exec to first answer) of BENCH_RUNS starts.
# Writes the table into docs/opt-level.md (and target/lambda-bench/opt-level.md).
#
#   scripts/bench-opt-level.sh [LEVEL...]      # default: 3 2 s z; "release" = the
#                                              # workspace's release profile as is
set -euo pipefail
cd "$(dirname "$0")/.."

levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(3 2 s z)
runs=${BENCH_RUNS:-20}
# The function measured: one of scripts/functions.sh.
function_name=get_client
mapfile -t functions < <(scripts/functions.sh)
[[ " ${functions[*]} " == *" $function_name "* ]] \
    || { echo "$function_name is not in scripts/functions.sh" >&2; exit 1; }
out="$PWD/target/lambda-bench"
mkdir -p "$out"
export BENCH_OUT_DIR="$out"
export PATH="$PWD/.venv/bin:$PATH"
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

cargo build --release --locked -p lambda_bench --bin coldstart
table="$out/opt-level.md"
{
    echo "| opt-level | $function_name, native stripped (bytes) | arm64 bootstrap (bytes) | instructions, one cold start (callgrind) | cold request, median of $runs (ms) |"
    echo "| --- | ---: | ---: | ---: | ---: |"
} > "$table"
for level in "${levels[@]}"; do
    echo "== opt-level $level"
    if [ "$level" = release ]; then
        # The workspace's release profile as it stands, built as usual.
        profile=release
        config=()
        cargo build --locked --release -p "$function_name"
    else
        profile="opt-$level"
        value=$level
        case $level in s | z) value="\"$level\"" ;; esac
        config=(--config "profile.$profile.inherits=\"release\"" --config "profile.$profile.opt-level=$value")
        cargo build --locked "${config[@]}" --profile "$profile" -p "$function_name"
    fi
    bin_dir="target/$profile"
    size=$(stat -c %s "$bin_dir/$function_name")
    arm64="—"
    if [ -n "${BENCH_ARM64:-}" ]; then
        cargo lambda build --locked ${config[@]+"${config[@]}"} --profile "$profile" --arm64 -p "$function_name"
        arm64=$(stat -c %s "target/lambda/$function_name/bootstrap")
    fi
    rm -f "$out"/callgrind.*
    # Warm-up before the first request (as under provisioned concurrency):
    # one order of events, so one count; overlapped, the count varies by
    # several percent with how the fetches and the request interleave.
    BENCH_FUNCTION_ENV=AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency \
        BENCH_BIN_DIR="$bin_dir" BENCH_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out/callgrind.%p" \
        target/release/coldstart --only "$function_name" --runs 1 > /dev/null
    instructions=$(grep -h '^summary:' "$out"/callgrind.* | awk '{ print $2 }' | head -1)
    cold=$(BENCH_BIN_DIR="$bin_dir" target/release/coldstart --only "$function_name" --runs "$runs" \
        | sed -n 's/.*cold request \([0-9.]*\) ms$/\1/p' | tail -1)
    printf '| %s | %s | %s | %s | %s |\n' "$level" "$size" "$arm64" "$instructions" "$cold" | tee -a "$table"
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
measured="$out/opt-level-measured.md"
{
    echo "Measured by \`scripts/bench-opt-level.sh\` on $(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD)\`:"
    echo "$(nproc) cores ($cpu, $(uname -m)), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)."
    echo
    cat "$table"
} > "$measured"
# Between the markers of docs/opt-level.md; the reading of it is by hand.
scripts/fill-marked-section.py docs/opt-level.md bench-opt-level.sh "$measured"
echo "== wrote $table and docs/opt-level.md"
