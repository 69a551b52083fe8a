#!/usr/bin/env bash
# Performance, measured, in one command: release builds; the size of each
# arm64 bootstrap as deployed (cargo lambda build --release --arm64); cold
# starts of the release binaries against a stub Runtime API and stub
# upstreams, side by side with a bare lambda_runtime echo; warm per-request
# cost (criterion); upstream calls per operation and per container (the
# economy tests); resident memory over 1,000 mixed requests. Writes the
# figures to docs/performance.md (details and logs in target/lambda-bench/).
#
#   scripts/bench.sh                 # everything (release LTO builds take a while)
#   BENCH_RUNS=10 BENCH_REQUESTS=1000 scripts/bench.sh
#   BENCH_SKIP_ARM64=1 scripts/bench.sh   # no cross-compilation: sizes left out
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-30}
requests=${BENCH_REQUESTS:-1000}
out="$PWD/target/lambda-bench"
mkdir -p "$out"
export BENCH_OUT_DIR="$out"
report=docs/performance.md
# The functions, from functions/ (scripts/functions.sh).
mapfile -t functions < <(scripts/functions.sh)
[ ${#functions[@]} -gt 0 ] || { echo "scripts/functions.sh found no functions" >&2; exit 1; }
# A regex matching any of their names.
functions_regex=$(IFS='|'; echo "${functions[*]}")
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done

# cargo-lambda and moto (as scripts/test.sh installs them) and zig, which
# cargo-lambda cross-compiles with.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
zig_pin=$(grep -E '^ziglang==' requirements-ci.txt)
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt "$zig_pin"
export PATH="$PWD/.venv/bin:$PATH"
export MOTO_SERVER="$PWD/.venv/bin/moto_server"

# The functions and the bare echo in one build, the drivers in another:
# cargo unifies dependency features across what one build selects, and the
# drivers' (tokio's process and signal drivers, the emulator's) must not
# leak into the binaries measured.
echo "== release build, native (for the timings)"
cargo build --release --locked "${packages[@]}" -p bare_echo
cargo build --release --locked -p lambda_bench

sizes="$out/sizes.md"
if [ -z "${BENCH_SKIP_ARM64:-}" ]; then
    echo "== release build, arm64 (for the sizes)"
    # As SAM builds them (template.yaml, the Makefile): all at once from the
    # workspace root, so the features are those of the default members.
    cargo lambda build --release --arm64 --locked
    cargo lambda build --release --arm64 --locked -p bare_echo
    limit=$((6 * 1000 * 1000))
    {
        echo "| arm64 bootstrap | bytes | MB | ≤ 6 MB |"
        echo "| --- | ---: | ---: | :---: |"
        all_met=yes
        for f in "${functions[@]}" bare-echo; do
            bytes=$(stat -c %s "target/lambda/$f/bootstrap")
            met=yes
            if [ "$bytes" -gt "$limit" ]; then met="**no**"; [ "$f" = bare-echo ] || all_met=no; fi
            [ "$f" = bare-echo ] && met="—"
            printf '| %s | %s | %s | %s |\n' "$f" "$bytes" "$(awk "BEGIN { printf \"%.2f\", $bytes / 1000000 }")" "$met"
        done
        echo
        echo "From \`cargo lambda build --release --arm64\`, the build \`sam build\` runs (the Makefile) (stripped, as deployed; CI checks the limit on \`sam build\`'s own output). Target (every function ≤ 6 MB): **$([ $all_met = yes ] && echo met || echo not met)**."
    } > "$sizes"
else
    echo "(arm64 sizes skipped: BENCH_SKIP_ARM64 is set)" > "$sizes"
fi

echo "== cold start ($runs runs each)"
target/release/coldstart --runs "$runs" --markdown "$out/coldstart.md"

echo "== memory ($requests requests per function)"
target/release/soak --requests "$requests" --markdown "$out/soak.md"

echo "== warm path (criterion)"
cargo bench --locked -p m2m_shared --bench warm

echo "== upstream economy (tests)"
if cargo test --locked -p m2m_shared --test contract economy > "$out/economy.log" 2>&1; then
    economy="passed"
else
    economy="**failed** (see target/lambda-bench/economy.log)"
fi
grep -E '^test |test result' "$out/economy.log" || true

profile="$out/profile.md"
if command -v valgrind > /dev/null; then
    echo "== where a cold start's work goes (callgrind)"
    scripts/profile-coldstart.sh
else
    echo "(valgrind is not installed: the cold-start profile is left out; apt-get install valgrind)" > "$profile"
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
memory=$(free -g | awk '/^Mem:/ { print $2 }')
{
    echo "# Performance"
    echo
    echo "Measured by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- . ':!docs/performance.md' || echo ' (with local changes)'):"
    echo "$(nproc) cores ($cpu, $(uname -m)), $memory GiB of memory, Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)."
    echo "Timings are of native release builds (same profile as deployed); sizes are of the arm64 builds."
    echo "Other work on the machine during the run shows up in the timings: compare ratios and medians, not single numbers."
    echo
    echo "## Binary size"
    echo
    cat "$sizes"
    echo
    echo "## Cold start"
    echo
    echo "Exec of the release binary with \`AWS_LAMBDA_RUNTIME_API\` pointing at a stub Runtime API on"
    echo "127.0.0.1, the README's configuration pointing at stubs (Secrets Manager, and the Auth0 emulator for"
    echo "the JWKS and Auth0) that answer at once, credentials in the environment as in Lambda, and one valid"
    echo "API Gateway v2 request for the function (\`tools/lambda_bench\`, \`target/release/coldstart\`)."
    echo "Init ends when the function first asks for work; an on-demand container's start-up fetches"
    echo "(secret, token, JWKS) are then still under way, and the first invocation waits for what it needs"
    echo "of them (README, Deploying)."
    echo
    cat "$out/coldstart.md"
    echo
    echo "### Where a cold start's work goes"
    echo
    echo "Callgrind, one cold start each (\`scripts/profile-coldstart.sh\`: the release profile with symbols,"
    echo "the same stubs, the warm-up finishing before the first request so that events happen in one order);"
    echo "instructions, inclusive, so the \"of which\" rows are parts of the row above them."
    echo
    cat "$profile"
    echo
    echo "## Warm path"
    echo
    echo "Criterion (\`cargo bench -p m2m_shared --bench warm\`), one container, stubs in process, per request:"
    echo
    cat "$out/warm.md"
    echo
    echo "## Upstream economy"
    echo
    echo "| what | count | where it is checked |"
    echo "| --- | ---: | --- |"
    echo "| Auth0 calls per create | 2 (client, grant) | \`economy.rs\`, \`create.rs\` |"
    echo "| Auth0 calls per get | 1 | \`economy.rs\` |"
    echo "| Auth0 calls per delete | 2 (ownership check, delete) | \`economy.rs\`, \`delete.rs\` |"
    echo "| Auth0 calls per list | 1 per 100 M2M clients in the tenant (0–100: 1, 101–200: 2, 201: 3) | \`economy.rs\`, \`read.rs\` |"
    echo "| refused requests (401, 400, impossible id) | 0 | \`economy.rs\` |"
    echo "| management tokens per container | 1 while valid (renewed 60 s before expiry, or once when refused) | \`economy.rs\`, \`upstream.rs\` |"
    echo "| JWKS fetches per container | 1 (plus at most one per 30 s for unknown \`kid\`s) | \`economy.rs\`, \`authentication.rs\` |"
    echo "| TCP connections to Auth0 per container | at most 2, opened at start-up by the concurrent JWKS and token fetches, then reused by every call (kernel's table: no new connection over 60 calls) | \`economy.rs\` |"
    echo
    echo "\`cargo test -p m2m_shared --test contract economy\`: $economy. Per cold start and per 1,000 requests, the benchmarks count the same (tables above and below)."
    echo
    echo "## Memory"
    echo
    cat "$out/soak.md"
} > "$report"
echo "== wrote $report"

# The README's summary: one line per target, from the tables above.
worst() { # FILE COLUMN [FORMAT]: the largest number in that column of the functions' rows
    grep -E "^\\| \`?($functions_regex)" "$1" \
        | awk -F'|' -v c="$2" -v f="${3:-%g}" '{ v = $(c + 1); gsub(/[^0-9.]/, "", v); if (v + 0 > max) max = v + 0 } END { printf f, max }'
}
verdict() { # FILE: its target's verdict, "met" or "**not met**"
    grep -o 'Target ([^)]*): \*\*[a-z ]*\*\*' "$1" | sed 's/.*: //; s/\*\*met\*\*/met/'
}
summary="$out/readme-summary.md"
{
    echo "Measured by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), on this project's CI machine type: $(nproc) cores"
    echo "($cpu), $memory GiB, Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2). Details, the profile and the"
    echo "method: [docs/performance.md](docs/performance.md); the opt-level choice: [docs/opt-level.md](docs/opt-level.md)."
    echo
    echo "| target | measured (worst of the four functions) | met |"
    echo "| --- | --- | :---: |"
    if [ -z "${BENCH_SKIP_ARM64:-}" ]; then
        echo "| arm64 bootstrap ≤ 6 MB | $(worst "$sizes" 3 %.2f) MB | $(verdict "$sizes") |"
    fi
    echo_cold=$(grep '^| bare' "$out/coldstart.md" | awk -F'|' '{ print $4 }' | sed 's/ (.*//; s/^ *//')
    echo "| cold request ≤ 2× a bare \`lambda_runtime\` echo's | $(worst "$out/coldstart.md" 5 %.2f)× (echo: $echo_cold) | $(verdict "$out/coldstart.md") |"
    echo "| warm overhead ≤ 0.3 ms median, upstream excluded | $(worst "$out/warm.md" 5) µs | $(verdict "$out/warm.md") |"
    echo "| Auth0 calls: create 2, get 0, list 0, delete 1 (the owner index answers reads); table calls per operation; 1 token and 1 JWKS per container | asserted by tests | $([ "$economy" = passed ] && echo met || echo '**not met**') |"
    echo "| peak RSS ≤ 20 MB over $requests mixed requests, flat | $(worst "$out/soak.md" 3 %.1f) MiB, growth ≤ $(worst "$out/soak.md" 6) KiB | $(verdict "$out/soak.md") |"
} > "$summary"
cat "$summary"
# Between the markers in README.md's Performance section.
scripts/fill-marked-section.py README.md bench.sh "$summary"
echo "== updated README.md (Performance)"
