#!/usr/bin/env bash
# Where a cold start's work goes: one cold start of each function and of the
# bare echo under callgrind (instructions, which do not depend on what else
# the machine is doing), against the stubs of tools/lambda_bench, from a
# build with the release profile plus symbols (profile "profiling", in
# target/profiling; the release binaries are left alone). Writes
# target/lambda-bench/profile.md (with perf installed, also page faults and
# CPU time per cold start of the release build); scripts/bench.sh includes it in
# docs/performance.md when it is there.
#
#   scripts/profile-coldstart.sh          # needs valgrind (callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."

out="$PWD/target/lambda-bench"
mkdir -p "$out"
export BENCH_OUT_DIR="$out"
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

mapfile -t functions < <(scripts/functions.sh)
[ ${#functions[@]} -gt 0 ] || { echo "scripts/functions.sh found no functions" >&2; exit 1; }
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
profiling=(--config 'profile.profiling.inherits="release"' --config 'profile.profiling.strip=false'
    --config 'profile.profiling.debug="line-tables-only"' --profile profiling)
cargo build --locked "${profiling[@]}" "${packages[@]}" -p bare_echo
cargo build --release --locked "${packages[@]}" -p bare_echo
cargo build --release --locked -p lambda_bench --bin coldstart

# The inclusive instruction count of the costliest symbol matching $2 in
# callgrind file $1 (async functions appear under several frames; the
# outermost one holds the whole cost); with a pattern "sum:REGEX", the sum
# over the symbols matching REGEX (distinct calls, none inside another).
# Symbols are "file:function" as the debug lines name them: code inlined
# into a function counts under the file it came from.
cost() {
    local pattern=$2 mode=max
    if [[ $pattern == sum:* ]]; then mode=sum; pattern=${pattern#sum:}; fi
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2> /dev/null \
        | { grep -E "$pattern" || true; } \
        | awk -v mode=$mode '{ gsub(",", "", $1); v = $1 + 0; sum += v; if (v > max) max = v }
            END { print (mode == "sum" ? sum : max) + 0 }'
}
kilo() { awk "BEGIN { printf \"%.0f k\", $1 / 1000 }"; }

# Where the compiler inlined a function into its caller, its cost is found
# by the file its code came from (e.g. app.rs's warm-up inside
# m2m_shared::run): the second alternative of those patterns. Such a
# frame may be named after the caller or after the future it polls, as
# rustc 1.95's builds name the warm-up's and the runtime loop's.
inlined="(m2m_shared::run::|<core::pin::Pin<P> as core::future::future::Future>::poll)"
rows=(
    "everything, exec to exit|TOTAL"
    "dynamic loader: mapping and relocating the binary, libc|rtld.c:_dl_start"
    "aws-config: region, credentials, settings|ConfigLoader::load"
    "Secrets Manager client construction|aws_sdk_secretsmanager::client::Client::from_conf"
    "  of which its built-in partitions JSON, parsed|aws_sdk_secretsmanager::endpoint_lib::partition::PartitionResolver::new_from_json"
    "DynamoDB client construction (the owner index)|aws_sdk_dynamodb::client::Client::from_conf"
    "  of which its own copy of the partitions JSON, parsed|aws_sdk_dynamodb::endpoint_lib::partition::PartitionResolver::new_from_json"
    "warm-up: secret, then management token; JWKS beside them|(App<S[^>]*>::warm_up::|shared/src/app\.rs:$inlined)"
    "  of which GetSecretValue in the SDK|aws-sdk-secretsmanager-[0-9.]+/src/operation/get_secret_value\.rs:m2m_shared::"
    "  of which JWKS fetch and key parsing|JwksCache::fetch_and_store::"
    "first invocation: event, handler, upstream calls, response|(runtime::process_invocation::|lambda_runtime-[0-9.]+/src/runtime\.rs:$inlined)"
    "  of which the caller's RS256 signature check|(jsonwebtoken::decoding::verify_signature|jsonwebtoken::crypto::aws_lc::rsa::verify_rsa)"
    "the owner index's table calls in the SDK, warm-up's and first invocation's|sum:aws-sdk-dynamodb-[0-9.]+/src/operation/[a-z_]+\.rs:(m2m_shared::|aws_sdk_dynamodb::operation::[a-z_]+::builders::)"
    "SigV4 signing of every AWS request: the secret's, the table's|SigV4Signer as .*sign_http_request"
)
declare -A counts
# The binaries the driver starts: the routes' functions and the echo (not
# the scheduled reconciler, which answers no request).
mapfile -t subjects < <(target/release/coldstart --subjects | grep -v '^bare-echo$')
subjects+=(bare-echo)
for subject in "${subjects[@]}"; do
    echo "== callgrind: $subject"
    rm -f "$out"/callgrind.*
    # Two starts: the first warms the stubs (and the page cache) and is
    # discarded; the second is the one counted.
    # Warm-up before the first request (as under provisioned concurrency):
    # one order of events, so one count; overlapped, the count varies by
    # several percent with how the fetches and the request interleave.
    BENCH_FUNCTION_ENV=AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency \
        BENCH_BIN_DIR=target/profiling BENCH_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$out/callgrind.%p" \
        target/release/coldstart --only "$subject" --runs 2 > /dev/null
    file=$(ls -t "$out"/callgrind.* | head -1)
    for row in "${rows[@]}"; do
        pattern=${row#*|}
        if [ "$pattern" = TOTAL ]; then
            value=$(grep -h '^summary:' "$file" | awk '{ print $2 }')
        else
            value=$(cost "$file" "$pattern")
        fi
        counts["$subject|$pattern"]=$value
    done
done

# The kernel's share: page faults and CPU time of a cold start (perf's
# software counters, which work in VMs too), medians of 10 starts of the
# release build.
declare -A faults clock
if perf stat -e page-faults true > /dev/null 2>&1; then
    printf '#!/bin/sh\nexec perf stat -x, -e page-faults,task-clock -o "%s/perf-stat.$$" "$@"\n' "$out" \
        > "$out/perf-wrapper.sh"
    chmod +x "$out/perf-wrapper.sh"
    median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    for subject in "${subjects[@]}"; do
        echo "== perf stat: $subject"
        rm -f "$out"/perf-stat.*
        BENCH_BIN_DIR=target/release BENCH_WRAPPER="$out/perf-wrapper.sh" \
            target/release/coldstart --only "$subject" --runs 11 > /dev/null
        # The first start warms the stubs: dropped.
        files=$(ls -tr "$out"/perf-stat.* | tail -n +2)
        # shellcheck disable=SC2086
        faults[$subject]=$(cat $files | awk -F, '/page-faults/ { print $1 }' | median)
        # shellcheck disable=SC2086
        clock[$subject]=$(cat $files | awk -F, '/task-clock/ { print $1 }' | median)
    done
fi

table="$out/profile.md"
{
    printf '| instructions, one cold start |'
    for subject in "${subjects[@]}"; do printf ' %s |' "$subject"; done
    echo
    printf '| --- |'
    for _ in "${subjects[@]}"; do printf ' ---: |'; done
    echo
    for row in "${rows[@]}"; do
        label=${row%%|*}
        pattern=${row#*|}
        label=${label/#  of which/… of which}
        printf '| %s |' "$label"
        for subject in "${subjects[@]}"; do
            value=${counts["$subject|$pattern"]}
            if [ "$value" = 0 ]; then printf ' — |'; else printf ' %s |' "$(kilo "$value")"; fi
        done
        echo
    done
    if [ ${#faults[@]} -gt 0 ]; then
        printf '| page faults, one cold start (perf, median of 10) |'
        for subject in "${subjects[@]}"; do printf ' %s |' "${faults[$subject]}"; done
        echo
        printf '| CPU time, user and kernel, one cold start (perf, median of 10) |'
        for subject in "${subjects[@]}"; do printf ' %.2f ms |' "${clock[$subject]}"; done
        echo
    fi
} > "$table"
cat "$table"
echo "== wrote $table"
