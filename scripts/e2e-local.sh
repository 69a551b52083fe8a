#!/usr/bin/env bash
# End-to-end check of the local stack: starts scripts/local.sh, runs the
# documentation's four curl commands with the printed token, checks each
# answer, then a client's whole life (scopes chosen at create, its tokens from
# the emulator's /oauth/token, rotation, disable, enable, rename), runs
# schemathesis against openapi.yaml, and checks that stopping the stack leaves
# no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."

API="http://localhost:${API_PORT:-4010}/api/v1/client"
# Where the created clients get their tokens, for the API local.sh authorizes
# them for (its GRANT_AUDIENCE, the service's default).
TOKEN_URL="http://127.0.0.1:${EMULATOR_PORT:-8081}/oauth/token"
GRANT_AUDIENCE="${GRANT_AUDIENCE:-https://butlrauth/}"
# The service's default GRANT_SCOPES, in their order.
ALL_SCOPES="['read:spaces', 'write:spaces', 'delete:spaces', 'read:rooms', 'write:rooms', 'delete:rooms', 'read:sensors', 'write:sensors', 'delete:sensors', 'read:hives', 'write:hives', 'delete:hives']"
passed=0
rm -f .local/token
setsid scripts/local.sh >.local-e2e.log 2>&1 &
stack=$!
cleanup() { kill -TERM "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 600); do
    [ -s .local/token ] && break
    if ! kill -0 "$stack" 2>/dev/null; then cat .local-e2e.log >&2; echo "local stack died" >&2; exit 1; fi
    sleep 1
done
[ -s .local/token ] || { cat .local-e2e.log >&2; echo "local stack did not come up" >&2; exit 1; }
TOKEN=$(cat .local/token)

check() { # name expected-status actual-status body python-assertion
    local name=$1 expected=$2 status=$3 body=$4 assertion=$5
    if [ "$status" != "$expected" ]; then
        echo "FAIL $name: status $status, expected $expected: $body" >&2; exit 1
    fi
    BODY="$body" python3 -c "import json, os; b = os.environ['BODY']; $assertion" \
        || { echo "FAIL $name: unexpected body: $body" >&2; exit 1; }
    ok "$name ($status)"
}
ok() { echo "ok   $*"; passed=$((passed + 1)); }
# A field of a JSON body.
field() { BODY="$1" python3 -c "import json, os, sys; print(json.loads(os.environ['BODY'])[sys.argv[1]])" "$2"; }

out=$(curl -s -w '\n%{http_code}' -X POST "$API" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "My API Client",
    "description": "Client for accessing internal APIs"
  }' || true)
check "create" 201 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert sorted(d) == ['client_id', 'client_secret', 'description', 'name', 'scopes'] and d['client_id'].startswith('client_') and len(d['client_id']) == 34 and d['scopes'] == $ALL_SCOPES"

out=$(curl -s -w '\n%{http_code}' "$API" \
  -H "Authorization: Bearer $TOKEN" || true)
check "list" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert len(d) == 3 and all(sorted(c) == ['auth_method', 'client_id', 'description', 'id', 'last_used_at', 'name', 'scopes', 'status'] for c in d) and d[0]['id'] == 'abc123def456' and d[2]['scopes'] == $ALL_SCOPES and d[2]['status'] == 'active'"

out=$(curl -s -w '\n%{http_code}' "$API/abc123def456" \
  -H "Authorization: Bearer $TOKEN" || true)
check "get" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); s = d.pop('scopes'); assert d.pop('status') in ('active', 'disabled') and set(s) <= set($ALL_SCOPES) and d.pop('last_used_at') is None and d.pop('auth_method') == 'client_secret_post' and d == {'id': 'abc123def456', 'name': 'My API Client', 'description': 'Client for accessing internal APIs', 'client_id': 'abc123def456'}"

# A sample event through `cargo lambda invoke`, against the same watch.
sed -e "s/{{TOKEN}}/$TOKEN/" -e "s/{{CLIENT_ID}}/abc123def456/" events/get_client-success.json >.local/event.json
out=$(.venv/bin/cargo-lambda lambda invoke get_client --invoke-address 127.0.0.1 \
    --invoke-port "${API_PORT:-4010}" --data-file .local/event.json --output-format json 2>&1 || true)
check "cargo lambda invoke events/get_client-success.json" 200 \
  "$(BODY="$out" python3 -c "import json, os; print(json.loads(os.environ['BODY'])['statusCode'])" 2>/dev/null || echo none)" \
  "$out" "d = json.loads(json.loads(b)['body']); assert d['id'] == 'abc123def456'"

out=$(curl -s -w '\n%{http_code}' -X DELETE "$API/abc123def456" \
  -H "Authorization: Bearer $TOKEN" || true)
check "delete" 204 "${out##*$'\n'}" "${out%$'\n'*}" "assert b == ''"

out=$(curl -s -w '\n%{http_code}' "$API/abc123def456" -H "Authorization: Bearer $TOKEN" || true)
check "get after delete" 404 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert json.loads(b) == {'code': 'CLIENT_NOT_FOUND', 'message': 'client not found'}"

# The stack built the functions before it said it was ready: no request
# above made cargo lambda watch compile anything.
if grep -q "Compiling" .local/api.log; then
    grep "Compiling" .local/api.log >&2
    echo "FAIL the first requests compiled the functions: scripts/local.sh should have built them" >&2; exit 1
fi
ok "no request waited for a build"

READ_ONLY=$(target/debug/auth0-emulator token --owner "${DEMO_OWNER:-demo-owner}" \
    --issuer "http://127.0.0.1:${EMULATOR_PORT:-8081}/" --scope read:m2m_clients)
out=$(curl -s -w '\n%{http_code}' -X POST "$API" -H "Authorization: Bearer $READ_ONLY" \
  -H "Content-Type: application/json" -d '{"name": "Not allowed"}' || true)
check "read-only token creating" 403 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert json.loads(b) == {'message': 'insufficient scope'}"

out=$(curl -s -w '\n%{http_code}' "$API" || true)
check "no token" 401 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert json.loads(b) == {'message': 'missing or malformed jwt'}"

# --- a client's life: scopes, tokens, rotation, disable, enable, rename -------

# A client credentials token request for a created client, as its backend
# makes it (to the emulator's Auth0 /oauth/token).
client_token() { # client_id client_secret
    curl -s -w '\n%{http_code}' -X POST "$TOKEN_URL" -H "Content-Type: application/json" \
        -d "$(python3 -c 'import json, sys; print(json.dumps({"grant_type": "client_credentials", "client_id": sys.argv[1], "client_secret": sys.argv[2], "audience": sys.argv[3]}))' "$1" "$2" "$GRANT_AUDIENCE")" || true
}
# The token carries exactly the two scopes chosen at create (its claim and
# the answer's scope).
TWO_SCOPES="d = json.loads(b); import base64; p = d['access_token'].split('.')[1]; c = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4))); assert sorted(c['scope'].split()) == ['read:rooms', 'read:spaces'] and sorted(d['scope'].split()) == ['read:rooms', 'read:spaces'] and c['aud'] == '$GRANT_AUDIENCE'"
REFUSED="assert json.loads(b)['error'] == 'access_denied'"

out=$(curl -s -w '\n%{http_code}' -X POST "$API" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"name": "Reporting", "description": "Reads rooms and spaces", "scopes": ["read:rooms", "read:spaces"]}' || true)
check "create with two scopes" 201 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert sorted(d['scopes']) == ['read:rooms', 'read:spaces']"
created="${out%$'\n'*}"
ID=$(field "$created" client_id)
OLD_SECRET=$(field "$created" client_secret)

out=$(client_token "$ID" "$OLD_SECRET")
check "its token has exactly those scopes" 200 "${out##*$'\n'}" "${out%$'\n'*}" "$TWO_SCOPES"

out=$(curl -s -w '\n%{http_code}' "$API/$ID" -H "Authorization: Bearer $TOKEN" || true)
check "get shows its scopes and status" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert d['scopes'] == ['read:spaces', 'read:rooms'] and d['status'] == 'active'"

out=$(curl -s -w '\n%{http_code}' -X POST "$API/$ID/rotate-secret" -H "Authorization: Bearer $TOKEN" || true)
check "rotate the secret" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert sorted(d) == ['client_id', 'client_secret'] and d['client_id'] == '$ID' and d['client_secret'] not in ('', '$OLD_SECRET')"
NEW_SECRET=$(field "${out%$'\n'*}" client_secret)

out=$(client_token "$ID" "$OLD_SECRET")
check "the old secret is refused" 401 "${out##*$'\n'}" "${out%$'\n'*}" "$REFUSED"

out=$(client_token "$ID" "$NEW_SECRET")
check "the new secret gets a token" 200 "${out##*$'\n'}" "${out%$'\n'*}" "$TWO_SCOPES"

out=$(curl -s -w '\n%{http_code}' -X POST "$API/$ID/disable" -H "Authorization: Bearer $TOKEN" || true)
check "disable" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert d['id'] == '$ID' and d['status'] == 'disabled' and d['scopes'] == ['read:spaces', 'read:rooms']"

out=$(client_token "$ID" "$NEW_SECRET")
check "a disabled client gets no token" 403 "${out##*$'\n'}" "${out%$'\n'*}" "$REFUSED"

out=$(curl -s -w '\n%{http_code}' -X POST "$API/$ID/disable" -H "Authorization: Bearer $TOKEN" || true)
check "disable again" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert json.loads(b)['status'] == 'disabled'"

out=$(curl -s -w '\n%{http_code}' -X POST "$API/$ID/enable" -H "Authorization: Bearer $TOKEN" || true)
check "enable" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert d['id'] == '$ID' and d['status'] == 'active' and d['scopes'] == ['read:spaces', 'read:rooms']"

out=$(client_token "$ID" "$NEW_SECRET")
check "an enabled client gets tokens again" 200 "${out##*$'\n'}" "${out%$'\n'*}" "$TWO_SCOPES"

out=$(curl -s -w '\n%{http_code}' -X PATCH "$API/$ID" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -d '{"name": "Reporting (renamed)"}' || true)
check "update the name" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "d = json.loads(b); assert d['id'] == '$ID' and d['name'] == 'Reporting (renamed)' and d['description'] == 'Reads rooms and spaces' and d['status'] == 'active' and d['scopes'] == ['read:spaces', 'read:rooms']"

out=$(curl -s -w '\n%{http_code}' "$API" -H "Authorization: Bearer $TOKEN" || true)
check "list shows the new name" 200 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert [c['name'] for c in json.loads(b) if c['id'] == '$ID'] == ['Reporting (renamed)']"

out=$(curl -s -w '\n%{http_code}' -X PATCH "$API/$ID" -H "Authorization: Bearer $READ_ONLY" \
  -H "Content-Type: application/json" -d '{"name": "Not allowed"}' || true)
check "read-only token updating" 403 "${out##*$'\n'}" "${out%$'\n'*}" \
  "assert json.loads(b) == {'message': 'insufficient scope'}"

# Schemathesis against openapi.yaml and the running stack: generated valid and
# invalid requests, with a fixed seed and budget so CI is repeatable. It keeps
# no example database: files written into the workspace would make
# `cargo lambda watch` restart the functions mid-request. Its ignored_auth
# check finds the credentials to take away only in apiKey and http schemes,
# not in openapi.yaml's oauth2 one: it is given the document with that scheme
# as the token travels, an http bearer one (in .local/, which is ignored).
.venv/bin/python - <<'PY' >.local/openapi-bearer.yaml
import yaml

document = yaml.safe_load(open("openapi.yaml"))
document["components"]["securitySchemes"]["oauth2"] = {"type": "http", "scheme": "bearer"}
print(yaml.safe_dump(document, sort_keys=False))
PY
if SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/scripts" \
    .venv/bin/schemathesis run .local/openapi-bearer.yaml --url "http://localhost:${API_PORT:-4010}" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth \
    --phases examples,coverage,fuzzing --max-examples 100 --seed 42 --generation-database none >.local/schemathesis.log 2>&1; then
    ok "schemathesis ($(grep -Eo '[0-9]+ generated' .local/schemathesis.log | head -1))"
else
    cat .local/schemathesis.log >&2
    echo "FAIL schemathesis" >&2
    exit 1
fi

cleanup
trap - EXIT
sleep 1
# This stack's processes, by their ports: other stacks on this machine are
# not ours to judge.
ours="moto_server -H 127.0.0.1 -p ${MOTO_PORT:-4566}( |$)|auth0-emulator --port ${EMULATOR_PORT:-8081}( |$)|cargo-lambda lambda watch .*-P ${API_PORT:-4010}( |$)"
if pgrep -f "$ours" >/dev/null; then
    echo "FAIL stop: processes left behind" >&2; pgrep -af "$ours" >&2; exit 1
fi
ok "stop (nothing left running)"
echo "$passed passed, 0 failed"
