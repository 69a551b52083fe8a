#!/usr/bin/env bash
# The whole service on this machine, offline, with one command:
#   - Secrets Manager and DynamoDB (moto) with the management credentials
#     secret and the owner index's table (template.yaml's ClientsTable),
#   - an Auth0 tenant (the emulator: token endpoint, JWKS, Management API)
#     holding the demo caller's clients,
#   - the functions under `cargo lambda watch` on http://localhost:4010, the
#     demo clients imported into the owner index by the reconciler,
# then prints a Bearer token for a demo caller and the documentation's curl
# commands. Ctrl-C stops everything.
#
# Ports (override with the environment): API 4010, emulator 8081, moto 4566.
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT="${API_PORT:-4010}"
EMULATOR_PORT="${EMULATOR_PORT:-8081}"
MOTO_PORT="${MOTO_PORT:-4566}"
DEMO_OWNER="${DEMO_OWNER:-demo-owner}"
STATE_DIR=".local"
SECRET_ID="local/auth0-management"
# The owner index's table, in moto; the functions read its name here.
export CLIENTS_TABLE="${CLIENTS_TABLE:-m2m-clients}"
ISSUER="http://127.0.0.1:${EMULATOR_PORT}/"
AUDIENCE="https://m2m-client-service/"
# The API the created clients are authorized for (the service's default),
# which the emulator knows as a resource server: their tokens are for it.
export GRANT_AUDIENCE="${GRANT_AUDIENCE:-https://butlrauth/}"

mkdir -p "$STATE_DIR"
rm -f "$STATE_DIR/token"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
fi
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/cargo-lambda ]; then
    log "installing moto and cargo-lambda into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
fi
export PATH="$PWD/.venv/bin:$PATH"

# The functions (the reconciler too) are built here, before the stack says
# it is ready, exactly as `cargo lambda watch` will run them (`cargo run
# --bin <function>`: the default members' features), so the first request
# answers at once instead of compiling. The tools (the emulator, and
# create-clients-table, which makes the table from template.yaml) are built
# on their own: in one build with the functions, cargo would unify the
# tools' features into theirs, and watch would compile everything again.
log "building the functions"
cargo build --quiet --locked --bins
log "building the Auth0 emulator and create-clients-table"
cargo build --quiet --locked -p auth0_emulator -p test_support --bins

# --- processes, stopped together ---------------------------------------------
pids=()
stop() {
    trap - INT TERM EXIT
    if [ "${#pids[@]}" -gt 0 ]; then
        log "stopping"
        for pid in "${pids[@]}"; do
            # Each was started in its own process group: take its children too.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        done
        wait 2>/dev/null || true
    fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

wait_for_port() {
    local port=$1 name=$2
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "$name did not start on port $port; see $STATE_DIR/$name.log" >&2
    exit 1
}

for port in "$MOTO_PORT" "$EMULATOR_PORT" "$API_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is already in use (is another local stack running?)" >&2
        exit 1
    fi
done

log "starting Secrets Manager and DynamoDB (moto) on :$MOTO_PORT"
setsid .venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE_DIR/moto.log" 2>&1 &
pids+=($!)
wait_for_port "$MOTO_PORT" moto

export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
.venv/bin/python - "$SECRET_ID" <<'PY'
import json, sys, boto3
client = boto3.client("secretsmanager", region_name="us-east-1")
client.create_secret(
    Name=sys.argv[1],
    SecretString=json.dumps({"client_id": "mgmt-client-id", "client_secret": "mgmt-client-secret"}),
)
PY
log "creating the owner index's table $CLIENTS_TABLE (template.yaml's ClientsTable)"
target/debug/create-clients-table --endpoint "$AWS_ENDPOINT_URL" --table "$CLIENTS_TABLE" >&2

log "starting the Auth0 emulator on :$EMULATOR_PORT"
setsid target/debug/auth0-emulator --port "$EMULATOR_PORT" --caller-audience "$AUDIENCE" \
    --resource-server "$GRANT_AUDIENCE" --demo-owner "$DEMO_OWNER" >"$STATE_DIR/emulator.log" 2>&1 &
pids+=($!)
wait_for_port "$EMULATOR_PORT" emulator

log "starting the API (cargo lambda watch) on :$API_PORT"
AUTH0_DOMAIN="http://127.0.0.1:${EMULATOR_PORT}" \
AUTH0_SECRET_ID="$SECRET_ID" \
JWT_ISSUER="$ISSUER" \
JWT_AUDIENCE="$AUDIENCE" \
RUST_LOG="${RUST_LOG:-info}" \
    setsid cargo lambda watch --invoke-address 127.0.0.1 -P "$API_PORT" >"$STATE_DIR/api.log" 2>&1 &
pids+=($!)
wait_for_port "$API_PORT" api

# The demo clients exist in the emulator only, like the clients of a
# deployment from before the owner index: a backfill imports them (those
# carrying client_metadata.owner_client_id), as after an upgrade.
log "importing the emulator's clients into the owner index (reconcile_clients, backfill)"
if ! summary=$(cargo lambda invoke reconcile_clients --invoke-address 127.0.0.1 \
    --invoke-port "$API_PORT" --data-ascii '{"backfill": true}' 2>"$STATE_DIR/backfill.log"); then
    cat "$STATE_DIR/backfill.log" >&2
    echo "the backfill failed (above); see $STATE_DIR/api.log" >&2
    exit 1
fi

TOKEN=$(target/debug/auth0-emulator token --owner "$DEMO_OWNER" --issuer "$ISSUER" --audience "$AUDIENCE")
printf '%s\n' "$TOKEN" >"$STATE_DIR/token"

cat <<EOF

The API is up on http://localhost:${API_PORT}/api/v1/client
Logs: $STATE_DIR/api.log, $STATE_DIR/emulator.log, $STATE_DIR/moto.log

The owner index is the table ${CLIENTS_TABLE} in moto. The demo caller's clients were imported into
it by a backfill of the reconciler: ${summary}
The reconciler runs on a schedule when deployed, not here; run it (or another backfill) with
  cargo lambda invoke reconcile_clients --invoke-address 127.0.0.1 --invoke-port ${API_PORT} --data-ascii '{"backfill": true}'

A Bearer token for the demo caller "${DEMO_OWNER}" (valid 24 h, also in $STATE_DIR/token), granting
all four permissions (read:, create:, update:, delete:m2m_clients); a read-only one, which gets
403 on create and delete:
  target/debug/auth0-emulator token --owner ${DEMO_OWNER} --issuer ${ISSUER} --scope read:m2m_clients


export TOKEN=${TOKEN}

The documentation's examples, with that token (abc123def456 is one of the demo caller's clients):

curl -X POST http://localhost:${API_PORT}/api/v1/client \\
  -H "Authorization: Bearer \$TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "name": "My API Client",
    "description": "Client for accessing internal APIs"
  }'

curl http://localhost:${API_PORT}/api/v1/client \\
  -H "Authorization: Bearer \$TOKEN"

curl http://localhost:${API_PORT}/api/v1/client/abc123def456 \\
  -H "Authorization: Bearer \$TOKEN"

curl -X DELETE http://localhost:${API_PORT}/api/v1/client/abc123def456 \\
  -H "Authorization: Bearer \$TOKEN"

The lifecycle routes (run them before the delete above, or on a client you create):

curl -X POST http://localhost:${API_PORT}/api/v1/client \\
  -H "Authorization: Bearer \$TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"name": "Read-only reporting", "scopes": ["read:spaces", "read:rooms"]}'

curl -X PATCH http://localhost:${API_PORT}/api/v1/client/abc123def456 \\
  -H "Authorization: Bearer \$TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{"name": "My Renamed API Client"}'

curl -X POST http://localhost:${API_PORT}/api/v1/client/abc123def456/rotate-secret \\
  -H "Authorization: Bearer \$TOKEN"

curl -X POST http://localhost:${API_PORT}/api/v1/client/abc123def456/disable \\
  -H "Authorization: Bearer \$TOKEN"

curl -X POST http://localhost:${API_PORT}/api/v1/client/abc123def456/enable \\
  -H "Authorization: Bearer \$TOKEN"

A client's token from the emulator (after a rotation, with the new secret; while the client is
disabled, Auth0's 403 access_denied):

curl -X POST http://127.0.0.1:${EMULATOR_PORT}/oauth/token \\
  -H "Content-Type: application/json" \\
  -d '{"grant_type": "client_credentials", "client_id": "<client_id>",
       "client_secret": "<client_secret>", "audience": "${GRANT_AUDIENCE}"}'

The functions are built; editing one makes \`cargo lambda watch\` rebuild it on the next request.
Press Ctrl-C to stop.
EOF

# Run until interrupted, or until one of the processes dies.
while true; do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "a process of the local stack exited; see $STATE_DIR/*.log" >&2
            exit 1
        fi
    done
    sleep 1
done
