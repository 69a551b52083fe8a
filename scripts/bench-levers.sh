#!/usr/bin/env bash
# Cold-start levers, one at a time: the same functions built from several
# commits, each started cold against the stubs of tools/lambda_bench,
#   - once under callgrind (instructions: the same on a busy machine as on an
#     idle one), with the rows of scripts/profile-coldstart.sh that concern
#     the AWS SDK (configuration, client construction, partition table);
#   - timed, in interleaved rounds (every build's every binary, then the
#     next round, the order rotated), beside the bare lambda_runtime echo.
# Writes target/levers/levers.md (LEVERS_DIR) and prints it; the builds,
# logs and raw samples stay in LEVERS_DIR. docs/performance-studies.md, "Cold-start
# levers (issue 13)", is what it printed.
#
#   scripts/bench-levers.sh                        # the builds of that section
#   scripts/bench-levers.sh A=04865df B=fd9f325    # LABEL=COMMIT ..., in order
#   LEVERS_RUNS=15 LEVERS_SUBJECTS="get_client create_client" LEVERS_DIR=/elsewhere scripts/bench-levers.sh
#
# Each commit's files are taken with git archive and built in the "profiling" profile
# (release plus symbols, as profile-coldstart.sh) in a target directory of
# its own; a new one starts as a copy of the previous build's, so that only
# what differs is compiled again. The timed binaries are those builds,
# stripped (the release profile strips; line tables do not change the code).
# The driver (coldstart) is this checkout's, built apart from the functions
# (cargo must not unify its dependencies' features into theirs). Needs
# valgrind, and moto as scripts/test.sh installs it (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${LEVERS_RUNS:-15}
read -r -a subjects <<< "${LEVERS_SUBJECTS:-get_client create_client}"
dir=$(realpath -m "${LEVERS_DIR:-target/levers}")
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=(A=04865df B=fd9f325 C-=da74907 C=37180d5)
command -v valgrind > /dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
export PATH="$PWD/.venv/bin:$PATH" MOTO_SERVER="$PWD/.venv/bin/moto_server"
mkdir -p "$dir"
export BENCH_OUT_DIR="$dir/bench"
profiling=(--config 'profile.profiling.inherits="release"' --config 'profile.profiling.strip=false'
    --config 'profile.profiling.debug="line-tables-only"' --profile profiling)
packages=(-p bare_echo)
for s in "${subjects[@]}"; do packages+=(-p "$s"); done
binaries=("${subjects[@]}" bare-echo)

# A target directory for $1, begun as a copy of $2's when there is none.
seeded() {
    if [ ! -d "$1/profiling" ] && [ -n "$2" ] && [ -d "$2/profiling" ]; then
        mkdir -p "$1" && cp -a "$2/profiling" "$1/"
    fi
}

labels=()
previous=
for build in "${builds[@]}"; do
    label=${build%%=*} commit=$(git rev-parse --short "${build#*=}")
    labels+=("$label")
    echo "$commit" > "$dir/commit-$label"
    src="$dir/$label/src" target="$dir/$label/target"
    mkdir -p "$dir/$label/bin" "$dir/$label/bin-stripped"
    # Taken anew only when the label's commit changed, its files stamped now:
    # a target directory copied from another build must not look up to date.
    if [ "$(cat "$dir/$label/src-commit" 2> /dev/null)" != "$commit" ]; then
        rm -rf "$src" && mkdir -p "$src"
        git archive --format=tar "$commit" | tar -x -m -C "$src"
        echo "$commit" > "$dir/$label/src-commit"
    fi
    seeded "$target" "$previous"
    echo "== $label = $commit: profiling build in $target"
    (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --locked "${profiling[@]}" "${packages[@]}")
    for b in "${binaries[@]}"; do
        cp "$target/profiling/$b" "$dir/$label/bin/"
        strip -o "$dir/$label/bin-stripped/$b" "$target/profiling/$b"
    done
    previous=$target
done
# Two builds with the same binary would measure one thing twice.
echo "== the binaries (sha256)"
(cd "$dir" && for label in "${labels[@]}"; do sha256sum "$label"/bin/*; done) | tee "$dir/binaries.sha256"
for b in "${subjects[@]}"; do
    same=$(awk -v b="/bin/$b" 'index($2, b) { print $1 }' "$dir/binaries.sha256" | sort | uniq -d)
    [ -z "$same" ] || { echo "$b: two builds gave the same binary" >&2; exit 1; }
done
seeded "$dir/driver" "$previous"
echo "== the driver, this checkout's ($(git rev-parse --short HEAD)), in $dir/driver"
CARGO_TARGET_DIR="$dir/driver" cargo build --locked "${profiling[@]}" -p lambda_bench --bin coldstart
coldstart="$dir/driver/profiling/coldstart"

# Callgrind: one cold start of each binary of each build, the second of two
# (the first warms the stubs and the page cache), warm-up finishing before
# the first request (one order of events, one count), as profile-coldstart.sh.
# Rows: label|pattern, the costliest symbol matching (an async function's
# outermost frame; where LTO inlined run() into main, its code is found by
# the file it came from); "sum:" would add every match (distinct calls).
rows=(
    "everything, exec to exit|TOTAL"
    "aws-config: ConfigLoader::load (profile files, default chains)|ConfigLoader::load"
    "Secrets Manager client construction|aws_sdk_secretsmanager::client::Client::from_conf"
    "  of which its partition table JSON, parsed|aws_sdk_secretsmanager::endpoint_lib::partition::PartitionResolver::new_from_json"
    "DynamoDB client construction|aws_sdk_dynamodb::client::Client::from_conf"
    "  of which its own copy of the partition table JSON, parsed|aws_sdk_dynamodb::endpoint_lib::partition::PartitionResolver::new_from_json"
    "warm-up before the first request (JWKS; secret and token where the route calls Auth0)|(App<S[^>]*>::warm_up::|shared/src/app\.rs:(m2m_shared::run::|[a-z_]+::main::))"
    "first invocation: event, handler, upstream calls, response|(runtime::process_invocation::|lambda_runtime-[0-9.]+/src/runtime\.rs:(m2m_shared::run::|[a-z_]+::main::))"
)
counts="$dir/callgrind.tsv"
: > "$counts"
for label in "${labels[@]}"; do
    for b in "${binaries[@]}"; do
        echo "== callgrind: $label $b"
        cg="$dir/$label/callgrind"
        mkdir -p "$cg" && rm -f "$cg"/callgrind.*
        BENCH_FUNCTION_ENV=AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency \
            BENCH_BIN_DIR="$dir/$label/bin" \
            BENCH_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$cg/callgrind.%p" \
            "$coldstart" --only "$b" --runs 2 > "$cg/$b.out"
        file=$(ls -t "$cg"/callgrind.* | head -1)
        mv "$file" "$cg/$b.callgrind"
        annotated="$cg/$b.annotated"
        callgrind_annotate --inclusive=yes --threshold=100 "$cg/$b.callgrind" > "$annotated" 2> /dev/null
        for row in "${rows[@]}"; do
            pattern=${row#*|} mode=max
            if [ "$pattern" = TOTAL ]; then
                value=$(awk '/^summary:/ { print $2; exit }' "$cg/$b.callgrind")
            else
                if [[ $pattern == sum:* ]]; then mode=sum; pattern=${pattern#sum:}; fi
                value=$({ grep -E "$pattern" "$annotated" || true; } | awk -v mode=$mode '
                    { gsub(",", "", $1); v = $1 + 0; sum += v; if (v > max) max = v }
                    END { print (mode == "sum" ? sum : max) + 0 }')
            fi
            printf '%s\t%s\t%s\t%s\n' "$label" "$b" "${row%%|*}" "$value" >> "$counts"
        done
    done
done

# Wall clock: rounds; in each, every build's subjects and one bare echo (the
# last build's), the order rotated each round. Each sample is the second of
# two starts (fresh stubs each time: the first warms them).
entries=()
for label in "${labels[@]}"; do
    for s in "${subjects[@]}"; do entries+=("$label|$s"); done
done
entries+=("${labels[-1]}|bare-echo")
samples="$dir/wallclock.tsv"
: > "$samples"
for ((round = 0; round < runs; round++)); do
    echo "== round $((round + 1)) of $runs"
    for ((i = 0; i < ${#entries[@]}; i++)); do
        entry=${entries[$(((round + i) % ${#entries[@]}))]}
        label=${entry%%|*} b=${entry#*|}
        line=$(BENCH_BIN_DIR="$dir/$label/bin-stripped" "$coldstart" --only "$b" --runs 2 | sed -n 2p)
        # "get_client: init 2.45 ms, cold request 3.12 ms, status Some(200)"
        init=$(sed -E 's/.*init ([0-9.]+) ms.*/\1/' <<< "$line")
        cold=$(sed -E 's/.*cold request ([0-9.]+) ms.*/\1/' <<< "$line")
        status=$(sed -E 's/.*status (.*)$/\1/' <<< "$line")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$label" "$b" "$init" "$cold" "$status" >> "$samples"
    done
done

python3 - "$dir" "$runs" "${labels[@]}" << 'EOF' > "$dir/levers.md"
import collections, statistics, sys
d, runs, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
counts = collections.OrderedDict()
for line in open(f"{d}/callgrind.tsv"):
    label, b, row, value = line.rstrip("\n").split("\t")
    counts.setdefault(row, {})[(label, b)] = int(value)
samples = collections.defaultdict(lambda: ([], []))
statuses = collections.defaultdict(set)
for line in open(f"{d}/wallclock.tsv"):
    _, label, b, init, cold, status = line.rstrip("\n").split("\t")
    samples[(label, b)][0].append(float(init))
    samples[(label, b)][1].append(float(cold))
    statuses[(label, b)].add(status)
commit = {l: open(f"{d}/commit-{l}").read().strip() for l in labels}
columns = [(l, b) for b in ("get_client", "create_client", "bare-echo") for l in labels
           if any((l, b) == k for r in counts.values() for k in r)]
kilo = lambda v: f"{v / 1000:.0f} k" if v else "—"
print("| instructions, one cold start | " + " | ".join(f"{b} {l} ({commit[l]})" for l, b in columns) + " |")
print("| --- |" + " ---: |" * len(columns))
for row, values in counts.items():
    print(f"| {row.replace('  of which', '… of which')} | " + " | ".join(kilo(values.get(c, 0)) for c in columns) + " |")
echo = [k for k in samples if k[1] == "bare-echo"][0]
echo_cold = statistics.median(samples[echo][1])
print()
print("| build | binary | init, median (ms) | cold request, median (ms) | cold request ÷ bare echo's | statuses |")
print("| --- | --- | ---: | ---: | ---: | --- |")
for (l, b), (init, cold) in sorted(samples.items(), key=lambda kv: (kv[0][1], labels.index(kv[0][0]))):
    print(f"| {l} ({commit[l]}) | {b} | {statistics.median(init):.2f} | {statistics.median(cold):.2f} | "
          f"{statistics.median(cold) / echo_cold:.2f}× | {', '.join(sorted(statuses[(l, b)]))} |")
n = {len(v[1]) for v in samples.values()}
print(f"\nWall clock: {runs} rounds, samples per binary {sorted(n)}; the bare echo is {echo[0]}'s build.")
EOF
cat "$dir/levers.md"
echo "== wrote $dir/levers.md"
