#!/usr/bin/env bash
# openapi.yaml through two linters, each with its recommended ruleset, and
# any finding fails: Spectral (`spectral:oas`, hints included) and Redocly
# CLI (`recommended-strict`: the recommended rules, warnings as errors).
# Both are pinned, with their lockfile, in scripts/openapi-linters/, where
# their configurations are too; the one Redocly finding openapi.yaml keeps
# is ignored there, with its reason (.redocly.lint-ignore.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

# Neither tool may phone home: Redocly's usage telemetry and update check
# are off, and no package's install script runs (one of Spectral's
# dependencies would report the install).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
linters=scripts/openapi-linters
cp "$linters/package.json" "$linters/package-lock.json" "$work/"
(cd "$work" && npm ci --silent --no-audit --no-fund --ignore-scripts) >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log" >&2; echo "FAIL npm ci" >&2; exit 1; }

echo "== Spectral $("$work/node_modules/.bin/spectral" --version) (spectral:oas)"
if ! "$work/node_modules/.bin/spectral" lint --ruleset "$linters/.spectral.yaml" \
    --fail-severity hint --display-only-failures openapi.yaml; then
    echo "FAIL Spectral: openapi.yaml has findings (above)" >&2
    exit 1
fi

echo "== Redocly $("$work/node_modules/.bin/redocly" --version 2>/dev/null) (recommended-strict)"
if ! "$work/node_modules/.bin/redocly" lint --config "$linters/redocly.yaml" \
    --format stylish openapi.yaml >"$work/redocly.log" 2>&1; then
    cat "$work/redocly.log" >&2
    echo "FAIL Redocly: openapi.yaml has findings (above)" >&2
    exit 1
fi
echo "ok   openapi.yaml: no finding of Spectral's or Redocly's recommended rules"
