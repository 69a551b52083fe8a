#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (moto's Secrets Manager and cargo-lambda, into ./.venv), then runs every
# Rust test of the workspace. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt; then
    echo "could not install requirements-test.txt into .venv" >&2
    exit 1
fi

# The tests start their own moto_server and cargo-lambda from here.
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export PATH="$PWD/.venv/bin:$PATH"

cargo test --workspace --locked "$@"

# The local stack, end to end, as a user runs it (scripts/local.sh + curl).
scripts/e2e-local.sh
