#!/usr/bin/env bash
# Performance, measured, in one command: release builds; the size of each
# arm64 bootstrap as deployed (cargo lambda build --release --arm64); cold
# starts of the release binaries against a stub Runtime API and stub
# upstreams, side by side with a bare lambda_runtime echo, and the first
# request's critical path (the upstream round trips a cold start adds before
# the operation's Auth0 call, through relays 20 ms away); warm per-request
# cost (criterion); upstream calls per operation and per container (the
# economy tests); resident memory over 1,000 mixed requests; a fleet of
# containers started at once (Auth0 token requests and secret reads per
# container start); list, get and delete as the tenant grows (100 to 20,000
# clients), beside the release binaries of the design before the owner
# index. Writes the figures, all of one run at one commit, to
# docs/performance.md (rewritten whole: one-off studies belong in
# docs/performance-studies.md, which it links to and leaves alone) and
# README.md's summary (details and logs in target/lambda-bench/).
#
#   scripts/bench.sh                 # everything (release LTO builds take a while)
#   BENCH_RUNS=10 BENCH_REQUESTS=1000 scripts/bench.sh
#   BENCH_SKIP_ARM64=1 scripts/bench.sh   # no cross-compilation: sizes left out
#   BENCH_ONLY=coldstart,scale scripts/bench.sh
#       # only these sections (sizes, coldstart, soak, fleet, warm, economy,
#       # profile, scale): their tables in target/lambda-bench/, docs and README untouched
#   BENCH_RTT_MS=20 scripts/bench.sh
#       # every upstream of the timed cold starts and the fleet answers through a
#       # relay that holds each request 20 ms (0, the default: reached directly,
#       # so that the cold requests compare with the bare echo's)
#   BENCH_PATH_RTT_MS=50 BENCH_PATH_RUNS=10 scripts/bench.sh
#       # the first request's critical path (and its verdict): starts of each
#       # function through relays without delay and holding each request this
#       # long (default 20 ms, apart from BENCH_RTT_MS), BENCH_PATH_RUNS each (5)
#   BENCH_FLEET_CONTAINERS=20 BENCH_FLEET_REQUESTS=3 BENCH_FLEET_WAVES=2 scripts/bench.sh
#   MANAGEMENT_TOKEN_CACHE=shared scripts/bench.sh   # passed to the functions (unset: their default)
#   BENCH_SCALE_SIZES=100,1000,20000 BENCH_SCALE_REQUESTS=20 scripts/bench.sh
#   BENCH_BEFORE_COMMIT=9874484 scripts/bench.sh   # the design before the owner index
#   BENCH_SKIP_BEFORE=1 scripts/bench.sh           # cold start and scale without it (no second build)
#   BENCH_BASELINE_COMMIT=d15fcb8 BENCH_ONLY=sizes,coldstart,warm BENCH_SKIP_BEFORE=1 scripts/bench.sh
#       # a change against an earlier commit (does it regress the functions that
#       # commit had?): that commit's arm64 bootstraps beside this one's, its
#       # release binaries taking turns with this build's in the cold-start
#       # rounds, and its warm bench and this one's taking turns
#       # (BENCH_WARM_ROUNDS each, default 3); tables in target/lambda-bench/
#       # (sizes.md, coldstart.md, warm-baseline.md)
#   BENCH_FUNCTIONS=get_client,reconcile_clients BENCH_ONLY=sizes,coldstart scripts/bench.sh
#       # only these functions sized, and those of them the cold-start driver
#       # starts built natively and started (with create_client and list_clients,
#       # which it measures more with): on a busy machine each function is a
#       # long release LTO link, twice with a baseline
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-30}
requests=${BENCH_REQUESTS:-1000}
scale_sizes=${BENCH_SCALE_SIZES:-100,1000,20000}
scale_requests=${BENCH_SCALE_REQUESTS:-20}
before_commit=${BENCH_BEFORE_COMMIT:-9874484}
rtt_ms=${BENCH_RTT_MS:-0}
path_runs=${BENCH_PATH_RUNS:-5}
path_rtt_ms=${BENCH_PATH_RTT_MS:-20}
fleet_containers=${BENCH_FLEET_CONTAINERS:-20}
fleet_requests=${BENCH_FLEET_REQUESTS:-3}
fleet_waves=${BENCH_FLEET_WAVES:-2}
baseline_commit=${BENCH_BASELINE_COMMIT:-}
warm_rounds=${BENCH_WARM_ROUNDS:-3}
# Whether section $1 runs: all of them, unless BENCH_ONLY names some.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }
out="$PWD/target/lambda-bench"
mkdir -p "$out"
export BENCH_OUT_DIR="$out"
report=docs/performance.md
# The functions, from functions/ (scripts/functions.sh).
mapfile -t functions < <(scripts/functions.sh)
[ ${#functions[@]} -gt 0 ] || { echo "scripts/functions.sh found no functions" >&2; exit 1; }
# A regex matching any of their names.
functions_regex=$(IFS='|'; echo "${functions[*]}")
# Whether function $1 is in the list $2 (a,b,c).
listed() { [[ ",$2," == *",$1,"* ]]; }
# The functions whose arm64 bootstraps are sized: all of them, unless
# BENCH_FUNCTIONS names some.
sized=("${functions[@]}")
if [ -n "${BENCH_FUNCTIONS:-}" ]; then
    # performance.md and README's summary are of every function.
    [ -n "${BENCH_ONLY:-}" ] || { echo "BENCH_FUNCTIONS needs BENCH_ONLY (the report is of every function)" >&2; exit 1; }
    sized=()
    for f in "${functions[@]}"; do listed "$f" "$BENCH_FUNCTIONS" && sized+=("$f"); done
fi

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
# Only the drivers of the sections that run (each is a release LTO link).
drivers=()
for driver in coldstart soak fleet scale; do
    if want "$driver" || { [ "$driver" = coldstart ] && want profile; }; then drivers+=(--bin "$driver"); fi
done
if [ ${#drivers[@]} -gt 0 ]; then
    cargo build --release --locked -p lambda_bench "${drivers[@]}"
fi
# The functions built natively and timed: all of them, or with
# BENCH_FUNCTIONS those the cold-start driver starts, with the two it
# measures more with.
timed=("${functions[@]}")
if [ -n "${BENCH_FUNCTIONS:-}" ]; then
    timed=()
    if [ -x target/release/coldstart ]; then
        known=$(target/release/coldstart --subjects | paste -sd,)
        for f in "${functions[@]}"; do
            listed "$f" "$known" && listed "$f" "$BENCH_FUNCTIONS,create_client,list_clients" && timed+=("$f")
        done
    fi
fi
packages=()
for f in "${timed[@]}"; do packages+=(-p "$f"); done
echo "== release build, native (for the timings)"
cargo build --release --locked "${packages[@]}" -p bare_echo

# The design before the owner index (no DynamoDB client; list paged through
# Auth0, get and delete asked it), for the cold-start and scale sections:
# its functions and the echo in one release build, as bench.sh built them
# then, from its own commit's files (git archive: a fixed place and the
# commit's times, so that the next run finds the build up to date).
before_args=()
if { want coldstart || want scale; } && [ -z "${BENCH_SKIP_BEFORE:-}" ]; then
    before_target="$PWD/target/before-owner-index"
    before_tree="$before_target/src"
    mkdir -p "$before_tree"
    git archive --format=tar "$before_commit" | tar -x -C "$before_tree"
    mapfile -t before_functions < <("$before_tree/scripts/functions.sh")
    before_packages=()
    for f in "${before_functions[@]}"; do before_packages+=(-p "$f"); done
    echo "== release build of $before_commit (before the owner index), in $before_target"
    (cd "$before_tree" && CARGO_TARGET_DIR="$before_target" \
        cargo build --release --locked "${before_packages[@]}" -p bare_echo)
    before_args=(--before "$before_target/release")
fi

# An earlier commit to compare with (BENCH_BASELINE_COMMIT): its tree, as
# for the design before the owner index, in a target folder of its own.
# Built in the sections that need it: release (cold start), arm64 (sizes),
# its warm bench (warm).
baseline_args=()
if [ -n "$baseline_commit" ]; then
    baseline_target="$PWD/target/baseline"
    baseline_tree="$baseline_target/src"
    baseline_rev=$(git rev-parse --short "$baseline_commit^{commit}")
    # A fresh tree when the commit changes: files of another commit's must not stay.
    if [ "$(cat "$baseline_target/commit" 2>/dev/null)" != "$baseline_rev" ]; then
        rm -rf "$baseline_tree"
    fi
    mkdir -p "$baseline_tree"
    git archive --format=tar "$baseline_rev" | tar -x -C "$baseline_tree"
    echo "$baseline_rev" > "$baseline_target/commit"
    mapfile -t baseline_functions < <("$baseline_tree/scripts/functions.sh")
    # Those of its functions built here (with BENCH_FUNCTIONS, some).
    baseline_packages=()
    baseline_sized=()
    for f in "${baseline_functions[@]}"; do
        listed "$f" "$(IFS=,; echo "${timed[*]}")" && baseline_packages+=(-p "$f")
        listed "$f" "$(IFS=,; echo "${sized[*]}")" && baseline_sized+=(-p "$f")
    done
    # Runs cargo in the baseline's tree, with its target folder.
    in_baseline() { (cd "$baseline_tree" && CARGO_TARGET_DIR="$baseline_target" "$@"); }
    if want coldstart; then
        echo "== release build of the baseline, $baseline_rev, in $baseline_target"
        in_baseline cargo build --release --locked "${baseline_packages[@]}"
        baseline_args=(--baseline "$baseline_target/release" --baseline-label "$baseline_rev")
    fi
fi

sizes="$out/sizes.md"
if ! want sizes; then
    :
elif [ -z "${BENCH_SKIP_ARM64:-}" ]; then
    echo "== release build, arm64 (for the sizes)"
    # As SAM builds them (template.yaml, the Makefile): all at once from the
    # workspace root, so the features are those of the default members
    # (some of them, with BENCH_FUNCTIONS: every function has the same
    # dependencies, so the features are the same).
    if [ -n "${BENCH_FUNCTIONS:-}" ]; then
        sized_packages=()
        for f in "${sized[@]}"; do sized_packages+=(-p "$f"); done
        cargo lambda build --release --arm64 --locked "${sized_packages[@]}"
    else
        cargo lambda build --release --arm64 --locked
    fi
    cargo lambda build --release --arm64 --locked -p bare_echo
    if [ -n "$baseline_commit" ]; then
        echo "== release build of the baseline, arm64, $baseline_rev"
        if [ -n "${BENCH_FUNCTIONS:-}" ]; then
            in_baseline cargo lambda build --release --arm64 --locked "${baseline_sized[@]}"
        else
            in_baseline cargo lambda build --release --arm64 --locked
        fi
    fi
    limit=$((6 * 1000 * 1000))
    {
        if [ -n "$baseline_commit" ]; then
            echo "| arm64 bootstrap | bytes | MB | ≤ 6 MB | at $baseline_rev, bytes | change, bytes |"
            echo "| --- | ---: | ---: | :---: | ---: | ---: |"
        else
            echo "| arm64 bootstrap | bytes | MB | ≤ 6 MB |"
            echo "| --- | ---: | ---: | :---: |"
        fi
        all_met=yes
        for f in "${sized[@]}" bare-echo; do
            bytes=$(stat -c %s "target/lambda/$f/bootstrap")
            met=yes
            if [ "$bytes" -gt "$limit" ]; then met="**no**"; [ "$f" = bare-echo ] || all_met=no; fi
            [ "$f" = bare-echo ] && met="—"
            then_cells=""
            if [ -n "$baseline_commit" ]; then
                then_bytes=$(stat -c %s "$baseline_target/lambda/$f/bootstrap" 2>/dev/null || true)
                if [ -n "$then_bytes" ]; then
                    then_cells=$(printf ' %s | %+d |' "$then_bytes" $((bytes - then_bytes)))
                else
                    then_cells=' — (new) | — |'
                fi
            fi
            printf '| %s | %s | %s | %s |%s\n' "$f" "$bytes" "$(awk "BEGIN { printf \"%.2f\", $bytes / 1000000 }")" "$met" "$then_cells"
        done
        echo
        echo "From \`cargo lambda build --release --arm64\`, the build \`sam build\` runs (the Makefile) (stripped, as deployed; CI checks the limit on \`sam build\`'s own output)$([ -n "$baseline_commit" ] && echo "; the baseline's the same way, from its own tree (the echo: this build's)"). Target (every function ≤ 6 MB): **$([ $all_met = yes ] && echo met || echo not met)**."
    } > "$sizes"
else
    echo "(arm64 sizes skipped: BENCH_SKIP_ARM64 is set)" > "$sizes"
fi

if want coldstart; then
    echo "== cold start ($runs runs each, round-trip time $rtt_ms ms; critical path: $path_runs starts each, 0 and $path_rtt_ms ms)"
    rm -f "$out/coldstart-summary.md"
    started=()
    if [ -n "${BENCH_FUNCTIONS:-}" ]; then started=(--functions "$(IFS=,; echo "${timed[*]}")"); fi
    target/release/coldstart --runs "$runs" --rtt-ms "$rtt_ms" \
        --path-runs "$path_runs" --path-rtt-ms "$path_rtt_ms" \
        "${before_args[@]}" "${baseline_args[@]}" "${started[@]}" --markdown "$out/coldstart.md" --summary "$out/coldstart-summary.md"
fi

if want soak; then
    echo "== memory ($requests requests per function)"
    target/release/soak --requests "$requests" --markdown "$out/soak.md"
fi

if want fleet; then
    echo "== fleet: $fleet_containers containers at once, $fleet_waves waves, round-trip time $rtt_ms ms"
    rm -f "$out/fleet-summary.md"
    target/release/fleet --containers "$fleet_containers" --requests "$fleet_requests" \
        --waves "$fleet_waves" --rtt-ms "$rtt_ms" --markdown "$out/fleet.md" --summary "$out/fleet-summary.md"
fi

if want warm && [ -n "$baseline_commit" ]; then
    # The baseline's warm bench and this one's taking turns, so that the
    # machine's other work weighs on both alike: each round's warm.md kept,
    # then the median over the rounds of each row's median (scripts/warm-against.py).
    runs_dir="$out/warm-rounds"
    rm -rf "$runs_dir"
    mkdir -p "$runs_dir"
    for round in $(seq 1 "$warm_rounds"); do
        echo "== warm path (criterion), round $round of $warm_rounds: $baseline_rev, then this build"
        BENCH_OUT_DIR="$runs_dir/baseline-$round" in_baseline cargo bench --locked -p m2m_shared --bench warm
        BENCH_OUT_DIR="$runs_dir/this-$round" cargo bench --locked -p m2m_shared --bench warm
    done
    cp "$runs_dir/this-$warm_rounds/warm.md" "$out/warm.md"
    scripts/warm-against.py "$baseline_rev" "$runs_dir" > "$out/warm-baseline.md"
    cat "$out/warm-baseline.md"
elif want warm; then
    echo "== warm path (criterion)"
    cargo bench --locked -p m2m_shared --bench warm
fi

economy="not run"
if want economy; then
    echo "== upstream economy (tests)"
    if cargo test --locked -p m2m_shared --test contract economy > "$out/economy.log" 2>&1; then
        economy="passed"
    else
        economy="**failed** (see target/lambda-bench/economy.log)"
    fi
    grep -E '^test |test result' "$out/economy.log" || true
fi

profile="$out/profile.md"
if ! want profile; then
    :
elif command -v valgrind > /dev/null; then
    echo "== where a cold start's work goes (callgrind)"
    scripts/profile-coldstart.sh
else
    echo "(valgrind is not installed: the cold-start profile is left out; apt-get install valgrind)" > "$profile"
fi

if want scale; then
    echo "== the owner index at scale: list, get and delete in tenants of $scale_sizes clients"
    target/release/scale "${before_args[@]}" --sizes "$scale_sizes" --requests "$scale_requests" \
        --markdown "$out/scale.md" --summary "$out/scale-summary.md"
fi

if [ -n "${BENCH_ONLY:-}" ]; then
    echo "== BENCH_ONLY=$BENCH_ONLY: the tables are in $out; $report and README.md are left as they were"
    exit 0
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
memory=$(free -g | awk '/^Mem:/ { print $2 }')
{
    echo "# Performance"
    echo
    echo "Measured by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- . ':!*.md' || echo ' (with local changes)'):"
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
    echo "the JWKS and Auth0) that answer at once and at the owner index's table in moto"
    echo "(\`AWS_ENDPOINT_URL_DYNAMODB\`), credentials in the environment as in Lambda, and one valid"
    echo "API Gateway v2 request for the function (\`tools/lambda_bench\`, \`target/release/coldstart\`)."
    echo "Init ends when the function first asks for work; an on-demand container's start-up fetches"
    echo "(secret, token, JWKS) are then still under way, and the first invocation waits for what it needs"
    echo "of them (docs/deploy.md). Every function builds its DynamoDB client at init, and its first"
    echo "request makes its table calls; moto, a Python server, takes longer to answer them than the stubs."
    echo "Round-trip time injected into the timed rounds: $rtt_ms ms (\`BENCH_RTT_MS\`; with it, every upstream is"
    echo "reached through a relay in \`tools/lambda_bench\` that holds each request that long). The critical-path"
    echo "table counts, from the relays' log, what a first request waits for before the operation's own Auth0 call,"
    echo "and what the cold start added: that chain less a warm second request's of the same kind, same container;"
    echo "from $path_runs starts of each function of its own, through relays without delay and holding each request"
    echo "$path_rtt_ms ms (\`BENCH_PATH_RTT_MS\`), the round-trip time its verdict is on."
    echo
    cat "$out/coldstart.md"
    echo
    echo "One-off studies, each of its own commit, in [performance-studies.md](performance-studies.md): the cold start"
    echo "with every upstream 20 ms away and what the critical-path target counts"
    echo "([Cold start with a round-trip time](performance-studies.md#cold-start-with-a-round-trip-time)), the critical"
    echo "path with \`MANAGEMENT_TOKEN_CACHE=container\`, and the cold start of 2026-11-23, before the owner index."
    echo
    echo "### Where a cold start's work goes"
    echo
    echo "Callgrind, one cold start each (\`scripts/profile-coldstart.sh\`: the release profile with symbols,"
    echo "the same stubs, the warm-up finishing before the first request so that events happen in one order);"
    echo "instructions, inclusive, so the \"of which\" rows are parts of the row above them."
    echo
    cat "$profile"
    echo
    echo "Issue 13's levers on the AWS SDK's share of a cold start, each measured alone (\`scripts/bench-levers.sh\`):"
    echo "[Cold-start levers (issue 13)](performance-studies.md#cold-start-levers-issue-13)."
    echo
    echo "## Warm path"
    echo
    echo "Criterion (\`cargo bench -p m2m_shared --bench warm\`), one container, stubs in process, the owner index"
    echo "in memory (\`MemoryIndex\`: the table's round trips are an upstream's, not the service's overhead;"
    echo "with DynamoDB they are in the scale section's round trips), per request; the four routes of the first"
    echo "design (\`BENCHED\` in \`shared/benches/warm.rs\`): the lifecycle routes are not benched yet:"
    echo
    cat "$out/warm.md"
    echo
    echo "## The owner index at scale"
    echo
    echo "List, get and delete, warm, in emulated tenants of ${scale_sizes//,/, } machine-to-machine clients, the"
    echo "caller owning 50 of them at every size (\`target/release/scale\`): each release binary as in the"
    echo "cold-start table (stub Runtime API, the Auth0 emulator, the table in moto), one process per"
    echo "operation and design, the round trip from queueing the event to the answer. \"Before the index\" is"
    echo "the design of commit \`$before_commit\` (list paged through the whole tenant, 100 clients a"
    echo "Management API call; get and delete asked Auth0), built from that commit by this script and run"
    echo "by the same driver against the same tenant, the two designs taking turns request by request."
    echo "The emulator answers at once and has no rate limit; Auth0 allows a tenant 2 to 16 Management API"
    echo "requests a second (docs/owner-index.md), which the paced run below applies to the list."
    echo
    if [ -f "$out/scale.md" ]; then cat "$out/scale.md"; else echo "(not measured)"; fi
    echo
    echo "The table holds the caller's clients only: moto answers a Query by scanning every item of the"
    echo "table and copies the whole table for each transaction, so other owners' items would measure"
    echo "moto; DynamoDB's Query and GetItem read the caller's partition alone, however large the table."
    echo "moto's own share of a round trip is in the cold-start section (a GetItem, a Query)."
    echo
    echo "## Upstream economy"
    echo
    echo "| what | count | where it is checked |"
    echo "| --- | ---: | --- |"
    echo "| Auth0 calls per create | 2 (client, grant) | \`economy.rs\` (\`create_2_get_0_list_0_delete_1_auth0_calls\`), \`create.rs\` |"
    echo "| Auth0 calls per get | 0 (the owner index answers) | \`economy.rs\`, \`read.rs\` |"
    echo "| Auth0 calls per delete | 1 (the delete; ownership is the index's) | \`economy.rs\`, \`delete.rs\` |"
    echo "| Auth0 calls per list | 0, however large the tenant (before the index: 1 per 100 M2M clients of the tenant) | \`economy.rs\` (\`list_costs_no_auth0_call_however_large_the_tenant\`), \`read.rs\` |"
    echo "| table calls per operation | get: GetItem; list: Query; delete: UpdateItem, TransactWriteItems; create: TransactWriteItems ×2, after a GetItem of the idempotency key if it has one (a container's first create also reads the cursor key, and the deployment's very first one makes it) | \`economy.rs\` (\`table_calls_per_operation\`) |"
    echo "| refused requests (401, 400, impossible id) | 0 Auth0 calls, 0 table calls | \`economy.rs\` |"
    echo "| management tokens per container | 1 while valid (renewed 60 s before expiry, or once when refused) | \`economy.rs\`, \`upstream.rs\` |"
    echo "| JWKS fetches per container | 1 (plus at most one per 30 s for unknown \`kid\`s) | \`economy.rs\`, \`authentication.rs\` |"
    echo "| TCP connections to Auth0 per container | at most 2, opened at start-up by the concurrent JWKS and token fetches, then reused by every call (kernel's table: no new connection over 60 calls) | \`economy.rs\` |"
    echo
    echo "\`cargo test -p m2m_shared --test contract economy\`: $economy. Per cold start and per 1,000 requests, the benchmarks count the same (tables above and below)."
    echo
    echo "## Memory"
    echo
    cat "$out/soak.md"
    echo
    echo "## A fleet: the management token across containers"
    echo
    echo "$fleet_containers processes of \`create_client\` started at once against one Auth0 emulator, one Secrets"
    echo "Manager stub and one table, each serving $fleet_requests creates, then a second wave as the first stops"
    echo "(\`target/release/fleet\`); the emulator's request log counts the \`/oauth/token\` requests."
    echo
    if [ -f "$out/fleet.md" ]; then cat "$out/fleet.md"; else echo "(not measured)"; fi
    echo
    echo "The same fleet with \`MANAGEMENT_TOKEN_CACHE=container\`, and before the shared token (one-off runs):"
    echo "[performance-studies.md](performance-studies.md#the-fleet-with-the-shared-management-token-and-without)."
} > "$report"
echo "== wrote $report"

# The README's summary: one line per target, from the tables above.
worst() { # FILE COLUMN [FORMAT]: the largest number in that column of the functions' rows (of its first table)
    awk '/^\|/ { table = 1 } table && !/^\|/ { exit } table' "$1" \
        | grep -E "^\\| \`?($functions_regex)" \
        | awk -F'|' -v c="$2" -v f="${3:-%g}" '{ v = $(c + 1); gsub(/[^0-9.]/, "", v); if (v + 0 > max) max = v + 0 } END { printf f, max }'
}
verdict() { # FILE: its target's verdict, "met" or "**not met**"
    grep -o 'Target ([^)]*): \*\*[a-z ]*\*\*' "$1" | sed 's/.*: //; s/\*\*met\*\*/met/'
}
summary="$out/readme-summary.md"
{
    echo "Measured by one run of \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD)\`, on this"
    echo "project's CI machine type: $(nproc) cores ($cpu), $memory GiB, Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2). Details, the profile and the"
    echo "method: [docs/performance.md](docs/performance.md); the opt-level choice: [docs/opt-level.md](docs/opt-level.md)."
    echo
    echo "| target | measured (worst of the functions) | met |"
    echo "| --- | --- | :---: |"
    if [ -z "${BENCH_SKIP_ARM64:-}" ]; then
        echo "| arm64 bootstrap ≤ 6 MB | $(worst "$sizes" 3 %.2f) MB | $(verdict "$sizes") |"
    fi
    echo_cold=$(grep '^| bare' "$out/coldstart.md" | awk -F'|' '{ print $4 }' | sed 's/ (.*//; s/^ *//')
    echo "| cold request ≤ 2× a bare \`lambda_runtime\` echo's | $(worst "$out/coldstart.md" 5 %.2f)× (echo: $echo_cold) | $(verdict "$out/coldstart.md") |"
    echo "| warm overhead ≤ 0.3 ms median, upstream excluded | $(worst "$out/warm.md" 5) µs | $(verdict "$out/warm.md") |"
    echo "| Auth0 calls: create 2, get 0, list 0, delete 1 (the owner index answers reads); table calls per operation; 1 token and 1 JWKS per container | asserted by tests | $([ "$economy" = passed ] && echo met || echo '**not met**') |"
    echo "| peak RSS ≤ 20 MB over $requests mixed requests, flat | $(worst "$out/soak.md" 3 %.1f) MiB, growth ≤ $(worst "$out/soak.md" 6) KiB | $(verdict "$out/soak.md") |"
    [ -f "$out/coldstart-summary.md" ] && cat "$out/coldstart-summary.md"
    [ -f "$out/fleet-summary.md" ] && cat "$out/fleet-summary.md"
    cat "$out/scale-summary.md"
} > "$summary"
cat "$summary"
# Between the markers in README.md's Performance section.
scripts/fill-marked-section.py README.md bench.sh "$summary"
echo "== updated README.md (Performance)"
