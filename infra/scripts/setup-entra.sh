#!/usr/bin/env bash
# Create what Greenlight needs in Entra ID before the Bicep deployment (docs/DEPLOY.md step 2), idempotently:
#   - the "Greenlight API" app registration: v2 access tokens (the code validates the v2 issuer), app roles
#     Requester / Approver / Admin, security-group claims, a user_impersonation scope pre-authorized for the Azure
#     CLI (for the smoke test), and its service principal with assignment required;
#   - role-assignable approver and admin groups (isAssignableToRole: their membership cannot be changed by an app
#     holding GroupMember.ReadWrite.All, which Greenlight's identity has), and an ordinary requester group;
#   - each group assigned its app role, so members get the role in their token's `roles` claim.
# Prints the main.bicep parameters to use. Needs `az login` as Privileged Role Administrator (role-assignable
# groups) and Application Administrator (or Cloud Application Administrator), or a Global Administrator.
#
# Usage: infra/scripts/setup-entra.sh [--name-prefix Greenlight] [--dry-run]
#   --dry-run   print every `az` call it would make (ids shown as <placeholders>), call nothing
set -euo pipefail

prefix="Greenlight"
dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name-prefix) prefix="${2:-}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) echo "setup-entra: unknown argument: $1" >&2; exit 2 ;;
  esac
done

GRAPH="https://graph.microsoft.com/v1.0"
AZURE_CLI_APP_ID="04b07795-8ddb-461a-bbee-02f9e1bf7b46"

# run CMD...: print it (dry run) or run it. read_value PLACEHOLDER CMD...: its output, or the placeholder.
run() {
  if [[ "$dry_run" == 1 ]]; then
    printf 'would run:'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}
read_value() {
  local placeholder="$1"; shift
  if [[ "$dry_run" == 1 ]]; then
    printf 'would run:' >&2; printf ' %q' "$@" >&2; printf '\n' >&2
    echo "$placeholder"
  else
    "$@"
  fi
}
new_guid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

command -v az >/dev/null || [[ "$dry_run" == 1 ]] || { echo "setup-entra: the Azure CLI (az) is required" >&2; exit 1; }

# ---- app registration
app_name="$prefix API"
app_id="$(read_value "" az ad app list --display-name "$app_name" --query "[0].appId" -o tsv)"
if [[ -z "$app_id" ]]; then
  roles_file="$(mktemp)"; trap 'rm -f "$roles_file"' EXIT
  cat >"$roles_file" <<JSON
[
 {"allowedMemberTypes":["User","Application"],"displayName":"Requester","value":"Requester","isEnabled":true,
  "id":"$(new_guid)","description":"May search the catalog and request software"},
 {"allowedMemberTypes":["User","Application"],"displayName":"Approver","value":"Approver","isEnabled":true,
  "id":"$(new_guid)","description":"May approve or reject requests"},
 {"allowedMemberTypes":["User","Application"],"displayName":"Admin","value":"Admin","isEnabled":true,
  "id":"$(new_guid)","description":"Administers Greenlight (includes Approver and Requester)"}
]
JSON
  app_id="$(read_value "<api-app-id>" az ad app create --display-name "$app_name" --sign-in-audience AzureADMyOrg \
    --app-roles "@$roles_file" --query appId -o tsv)"
fi
app_object_id="$(read_value "<api-app-object-id>" az ad app show --id "$app_id" --query id -o tsv)"
run az ad app update --id "$app_id" --identifier-uris "api://$app_id"

# v2 tokens (iss .../v2.0, aud = client id), security-group ids in `groups`, a delegated scope the Azure CLI may
# request without a consent prompt. One PATCH: `az ad app update` cannot set api.requestedAccessTokenVersion.
scope_id="$(read_value "<existing-or-new-scope-id>" az ad app show --id "$app_id" \
  --query "api.oauth2PermissionScopes[?value=='user_impersonation'].id | [0]" -o tsv)"
[[ -n "$scope_id" ]] || scope_id="$(new_guid)"
body=$(cat <<JSON
{"groupMembershipClaims":"SecurityGroup",
 "api":{"requestedAccessTokenVersion":2,
  "oauth2PermissionScopes":[{"id":"$scope_id","value":"user_impersonation","type":"User","isEnabled":true,
   "adminConsentDisplayName":"Access Greenlight","adminConsentDescription":"Call the Greenlight API as the user",
   "userConsentDisplayName":"Access Greenlight","userConsentDescription":"Call the Greenlight API as you"}],
  "preAuthorizedApplications":[{"appId":"$AZURE_CLI_APP_ID","delegatedPermissionIds":["$scope_id"]}]}}
JSON
)
run az rest --method PATCH --uri "$GRAPH/applications/$app_object_id" --headers "Content-Type=application/json" \
  --body "$body"

sp_id="$(read_value "" az ad sp list --filter "appId eq '$app_id'" --query "[0].id" -o tsv)"
[[ -n "$sp_id" ]] || sp_id="$(read_value "<api-sp-id>" az ad sp create --id "$app_id" --query id -o tsv)"
# Only users and groups assigned an app role get a token for the API at all.
run az ad sp update --id "$sp_id" --set appRoleAssignmentRequired=true

# ---- groups
ensure_group() {  # name nickname role_assignable -> object id
  local name="$1" nickname="$2" assignable="$3" id
  id="$(read_value "" az ad group list --display-name "$name" --query "[0].id" -o tsv)"
  if [[ -z "$id" ]]; then
    id="$(read_value "<$nickname-group-id>" az rest --method POST --uri "$GRAPH/groups" \
      --headers "Content-Type=application/json" --query id -o tsv \
      --body "{\"displayName\":\"$name\",\"mailNickname\":\"$nickname\",\"mailEnabled\":false,\"securityEnabled\":true,\"isAssignableToRole\":$assignable}")"
  fi
  echo "$id"
}
approvers="$(ensure_group "$prefix Approvers" "greenlight-approvers" true)"
admins="$(ensure_group "$prefix Admins" "greenlight-admins" true)"
requesters="$(ensure_group "$prefix Requesters" "greenlight-requesters" false)"

assign_role() {  # group role-value
  local group="$1" role="$2" role_id
  role_id="$(read_value "<$role-role-id>" az ad sp show --id "$sp_id" --query "appRoles[?value=='$role'].id | [0]" -o tsv)"
  existing="$(read_value "" az rest --method GET --uri "$GRAPH/servicePrincipals/$sp_id/appRoleAssignedTo" \
    --query "value[?principalId=='$group' && appRoleId=='$role_id'].id | [0]" -o tsv)"
  [[ -n "$existing" ]] || run az rest --method POST --uri "$GRAPH/servicePrincipals/$sp_id/appRoleAssignedTo" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\":\"$group\",\"resourceId\":\"$sp_id\",\"appRoleId\":\"$role_id\"}" --output none
}
assign_role "$approvers" Approver
assign_role "$admins" Admin
assign_role "$requesters" Requester

cat <<EOF2

Entra setup done. Parameters for infra/bicep/main.bicep:
  apiAudience=api://$app_id apiClientId=$app_id
  requesterGroupIds=$requesters approverGroupIds=$approvers adminGroupIds=$admins
Add people to the groups (approvers/admins need a Privileged Role Administrator: the groups are role-assignable).
EOF2
