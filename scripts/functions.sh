#!/usr/bin/env bash
# The service's functions, one name a line: every crate under functions/
# (the workspace's members glob, and each one route of the library's table,
# which shared/tests/contract/routes.rs checks). Scripts read the list here
# instead of writing it out.
set -euo pipefail
cd "$(dirname "$0")/../functions"
for dir in */; do
    [ -f "$dir/Cargo.toml" ] && printf '%s\n' "${dir%/}"
done
