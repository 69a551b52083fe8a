#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (moto's Secrets Manager and cargo-lambda, into ./.venv; the AWS CLI, into
# ./.venv-awscli; Auth0's Deploy CLI, into deploy/auth0/node_modules), then runs every
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

# Auth0's Deploy CLI, pinned by deploy/auth0/package-lock.json, for the test
# that imports deploy/auth0 into the emulator (shared/tests/contract/deploy_cli.rs);
# installed again only when the lockfile changed.
if [ ! -x deploy/auth0/node_modules/.bin/a0deploy ] \
    || [ deploy/auth0/package-lock.json -nt deploy/auth0/node_modules/.package-lock.json ]; then
    if ! npm ci --prefix deploy/auth0 --silent --no-audit --no-fund; then
        echo "could not install deploy/auth0's Deploy CLI (npm ci)" >&2
        exit 1
    fi
fi

# The AWS CLI, for the test of deploy/auth0/store-management-secret.sh: on
# PATH after everything else, so that a machine's own `aws` is used if it has one.
if [ ! -x .venv-awscli/bin/aws ]; then
    python3 -m venv .venv-awscli
fi
if ! .venv-awscli/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-awscli.txt; then
    echo "could not install requirements-awscli.txt into .venv-awscli" >&2
    exit 1
fi

# The tests start their own moto_server and cargo-lambda from here.
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export PATH="$PWD/.venv/bin:$PATH:$PWD/.venv-awscli/bin"

# The fleet test starts 20 function processes at once against one table:
# it runs alone, after the rest, so that the other tests' load cannot starve
# the table calls it counts (each has a 1 s limit, past which a container
# rightly falls back to a token of its own).
fleet_test=shared_token::twenty_function_processes_started_at_once_fetch_one_token_between_them
# Auth0's Deploy CLI spends half a minute of one core per import compiling its
# schema (ajv): it runs after the rest too, so that the tests timed against
# the 12 s answer bound (fault_matrix) do not share the two cores with it.
deploy_cli_test=deploy_cli::the_deploy_cli_sets_up_the_tenant_and_its_example_caller_uses_the_service
cargo test --workspace --locked "$@" -- --skip "$fleet_test" --skip "$deploy_cli_test"
cargo test --locked -p m2m_shared --test contract -- --exact "$fleet_test"
cargo test --locked -p m2m_shared --test contract -- --exact "$deploy_cli_test"

# The local stack, end to end, as a user runs it (scripts/local.sh + curl).
scripts/e2e-local.sh
