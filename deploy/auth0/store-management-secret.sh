#!/usr/bin/env bash
# Puts the credentials of the management application that tenant.yaml
# declares ("<STACK_NAME> management") into AWS Secrets Manager, as the JSON
# secret {"client_id": ..., "client_secret": ...} the service reads
# (AUTH0_SECRET_ID), and prints the secret's ARN: template.yaml's
# Auth0SecretArn. Run it after `a0deploy import`, with the same environment:
#
#   AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET  the Deploy CLI's application
#                                (it reads the secret: it needs read:client_keys)
#   STACK_NAME                   default m2m-client-service (samconfig.toml's stack_name)
#   SECRET_NAME                  default $STACK_NAME/auth0-management
#   SECRET_KMS_KEY_ARN           optional: a customer-managed key (template parameter
#                                SecretKmsKeyArn); empty, the AWS managed key
#   AUTH0_AUDIENCE               optional, as for the Deploy CLI: the Management API's
#                                audience if not https://$AUTH0_DOMAIN/api/v2/
#
# The AWS CLI's usual settings apply (AWS_PROFILE, AWS_REGION, ...). Run again
# after rotating the management application's secret: the secret gets the
# new value (its ARN stays). The client secret is never printed, and never on
# a command line: it goes to the AWS CLI in a file only this user can read.
set -euo pipefail

: "${AUTH0_DOMAIN:?set AUTH0_DOMAIN (your tenant, e.g. example.us.auth0.com)}"
: "${AUTH0_CLIENT_ID:?set AUTH0_CLIENT_ID (the Deploy CLI application)}"
: "${AUTH0_CLIENT_SECRET:?set AUTH0_CLIENT_SECRET (the Deploy CLI application)}"
STACK_NAME="${STACK_NAME:-m2m-client-service}"
SECRET_NAME="${SECRET_NAME:-$STACK_NAME/auth0-management}"
AUDIENCE="${AUTH0_AUDIENCE:-https://$AUTH0_DOMAIN/api/v2/}"
APPLICATION="$STACK_NAME management"

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A Management API token for the Deploy CLI's application (form-encoded by
# curl from files, so no secret is on a command line either).
printf '%s' "$AUTH0_CLIENT_SECRET" >"$work/deployer-secret"
if ! curl -sS --fail-with-body -o "$work/token.json" "https://$AUTH0_DOMAIN/oauth/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode "client_id=$AUTH0_CLIENT_ID" \
    --data-urlencode "client_secret@$work/deployer-secret" \
    --data-urlencode "audience=$AUDIENCE"; then
    echo "Auth0 refused a Management API token for $AUTH0_CLIENT_ID: $(cat "$work/token.json" 2>/dev/null)" >&2
    exit 1
fi
python3 -c 'import json, sys; print("Authorization: Bearer " + json.load(open(sys.argv[1]))["access_token"])' \
    "$work/token.json" >"$work/authorization"

# The management application, by its name, among the tenant's
# machine-to-machine applications (100 a page).
page=0
: >"$work/found"
while [ ! -s "$work/found" ]; do
    if ! curl -sS --fail-with-body -o "$work/page.json" -H "@$work/authorization" -G \
        "https://$AUTH0_DOMAIN/api/v2/clients" \
        --data-urlencode "app_type=non_interactive" \
        --data-urlencode "fields=client_id,client_secret,name" \
        --data-urlencode "include_fields=true" \
        --data-urlencode "per_page=100" \
        --data-urlencode "page=$page"; then
        echo "Auth0 refused to list the applications: $(cat "$work/page.json" 2>/dev/null)" >&2
        exit 1
    fi
    python3 - "$work/page.json" "$APPLICATION" "$work/found" <<'PY'
import json, sys
page, name, found = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
matches = [c for c in page if c.get("name") == name]
if len(matches) > 1:
    sys.exit(f"more than one application is named {name!r}")
if matches:
    client = matches[0]
    if not client.get("client_secret"):
        sys.exit("the Deploy CLI's application may not read client secrets: grant it read:client_keys")
    with open(found, "w") as out:
        json.dump({"client_id": client["client_id"], "client_secret": client["client_secret"]}, out)
elif len(page) < 100:
    sys.exit(f"no machine-to-machine application named {name!r}: run a0deploy import first (README, Deploy)")
PY
    page=$((page + 1))
done

kms=()
if [ -n "${SECRET_KMS_KEY_ARN:-}" ]; then
    kms=(--kms-key-id "$SECRET_KMS_KEY_ARN")
fi
if arn=$(aws secretsmanager create-secret --name "$SECRET_NAME" "${kms[@]}" \
    --description "Auth0 Management API credentials of $STACK_NAME (m2m-client-service)" \
    --secret-string "file://$work/found" --query ARN --output text 2>"$work/aws.err"); then
    :
elif grep -q ResourceExistsException "$work/aws.err"; then
    arn=$(aws secretsmanager put-secret-value --secret-id "$SECRET_NAME" \
        --secret-string "file://$work/found" --query ARN --output text)
else
    cat "$work/aws.err" >&2
    exit 1
fi
echo "$arn"
