#!/usr/bin/env bash
# openapi.yaml is what callers feed to their code generators. This generates
# a Python client with openapi-python-client (pinned in requirements-openapi.txt,
# which requirements-ci.txt includes)
# and TypeScript types with openapi-typescript (pinned, with its lockfile, in
# scripts/openapi-generators/), and fails
#   - on any warning either of them prints (openapi-python-client, for one,
#     leaves out a response it cannot type and says so only as a warning);
#   - unless every error response of every operation (each 4xx and 5xx the
#     document declares) comes out as a typed model: the Python client must
#     parse bodies of each into a model class that gives the body back, and
#     the TypeScript compiler must find the body's type to be exactly the
#     named schema the document gives it, with the document's properties.
# The sample bodies are made from the schemas (each property's const, first
# enum value, or a string), once with the required properties only and once
# with all of them, and are the response's documented examples too (both
# bodies of a 429: API Gateway's and the service's). A sample's message is
# never the documented text, so a client that pinned message texts fails.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-ci.txt
# openapi-python-client formats what it writes with ruff, installed beside it.
export PATH="$PWD/.venv/bin:$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints what a generator said, and fails, if it said anything besides the
# lines it always prints.
only_expected_output() { # name file expected-line-regex
    local unexpected
    unexpected=$(grep -Ev "$3" "$2" | grep -v '^[[:space:]]*$' || true)
    if [ -n "$unexpected" ]; then
        cat "$2" >&2
        echo "FAIL $1 warned (above)" >&2
        exit 1
    fi
}

echo "== openapi-python-client $(openapi-python-client --version | grep -Eo '[0-9.]+$')"
if ! openapi-python-client generate --path openapi.yaml --output-path "$work/m2m_client" \
    --meta none --fail-on-warning >"$work/python.log" 2>&1; then
    cat "$work/python.log" >&2
    echo "FAIL openapi-python-client" >&2
    exit 1
fi
only_expected_output openapi-python-client "$work/python.log" '^Generating '

echo "== openapi-typescript"
cp scripts/openapi-generators/package.json scripts/openapi-generators/package-lock.json "$work/"
(cd "$work" && npm ci --silent --no-audit --no-fund) >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log" >&2; echo "FAIL npm ci" >&2; exit 1; }
if ! "$work/node_modules/.bin/openapi-typescript" openapi.yaml -o "$work/api.d.ts" >"$work/ts.log" 2>&1; then
    cat "$work/ts.log" >&2
    echo "FAIL openapi-typescript" >&2
    exit 1
fi
only_expected_output openapi-typescript "$work/ts.log" '^✨ openapi-typescript [0-9.]+$|^🚀 openapi.yaml → .*api\.d\.ts \[[0-9.]+m?s\]$'

echo "== every error response is a typed model"
# The Python side runs here; it writes the TypeScript assertions, which tsc
# then checks.
.venv/bin/python - "$work" <<'PY'
import importlib
import re
import sys

import httpx
import yaml

work = sys.argv[1]
document = yaml.safe_load(open("openapi.yaml"))
failures = []


def deref(node):
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_name(schema):
    """The components/schemas name an error body refers to, or None."""
    match = re.fullmatch(r"#/components/schemas/([A-Za-z0-9_]+)", schema.get("$ref", ""))
    return match and match.group(1)


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).replace("-", "_").lower()


def sample(prop):
    prop = deref(prop)
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("type") == "string":
        return "a message"
    raise ValueError(f"no sample for {prop}")


def bodies(media):
    schema = deref(media["schema"])
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    examples = [example["value"] for example in media.get("examples", {}).values()]
    if "example" in media:
        examples.append(media["example"])
    return [
        {name: sample(prop) for name, prop in properties.items() if name in required},
        {name: sample(prop) for name, prop in properties.items()},
        *examples,
    ]


sys.path.insert(0, work)
from m2m_client.client import Client  # noqa: E402

client = Client(base_url="http://unused.invalid", raise_on_unexpected_status=True)
assertions = []
for item in document["paths"].values():
    for method, operation in item.items():
        if method == "parameters":
            continue
        op = operation["operationId"]
        # openapi-python-client puts each operation in a package named after
        # its first tag.
        module = importlib.import_module(
            f"m2m_client.api.{snake(operation['tags'][0])}.{snake(op)}"
        )
        statuses = []
        for status, response in operation["responses"].items():
            if status[0] not in "45":
                continue
            response = deref(response)
            media = response.get("content", {}).get("application/json", {})
            schema = media.get("schema")
            where = f"{op} {status}"
            if schema is None:
                failures.append(f"{where}: no application/json body")
                continue
            name = schema_name(schema)
            if not name:
                failures.append(
                    f"{where}: the body is not a $ref to components/schemas (a named schema"
                    " is what gives it one model in every generator)"
                )
                continue
            if not deref(schema).get("properties"):
                failures.append(f"{where}: {name} declares no properties")
                continue
            statuses.append(f"{status} {name}")
            for body in bodies(media):
                reply = httpx.Response(int(status), json=body)
                try:
                    parsed = module._parse_response(client=client, response=reply)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{where}: the Python client cannot parse {body}: {error!r}")
                    continue
                kind = type(parsed)
                if not kind.__module__.startswith("m2m_client.models."):
                    failures.append(f"{where}: the Python client makes a {kind.__name__} of {body}")
                elif parsed.to_dict() != body:
                    failures.append(f"{where}: {kind.__name__} gives back {parsed.to_dict()}, not {body}")
            keys = " | ".join(f'"{key}"' for key in deref(schema)["properties"])
            assertions.append(
                f'ok<Same<Json<operations["{op}"]["responses"][{status}]>, '
                f'components["schemas"]["{name}"]>>();\n'
                f'ok<Same<keyof components["schemas"]["{name}"], {keys}>>();'
            )
        print(f"  {op}: " + ", ".join(statuses))

with open(f"{work}/check.ts", "w") as out:
    out.write(
        'import type { components, operations } from "./api";\n'
        'type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;\n'
        "type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;\n"
        "declare function ok<T extends true>(): void;\n"
        + "\n".join(assertions)
        + "\n"
    )
if not assertions:
    failures.append("openapi.yaml declares no error response")
if failures:
    print("\n".join(f"FAIL {failure}" for failure in failures), file=sys.stderr)
    sys.exit(1)
PY
# tsc names the line of check.ts (operation, status) whose type is not the model.
if ! "$work/node_modules/.bin/tsc" --noEmit --strict "$work/check.ts" >"$work/tsc.log" 2>&1; then
    cat "$work/tsc.log" >&2
    cat -n "$work/check.ts" >&2
    echo "FAIL the TypeScript types do not give every error response its model" >&2
    exit 1
fi
echo "ok   openapi-python-client and openapi-typescript: no warning, a model for every error response"
