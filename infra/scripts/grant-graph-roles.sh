#!/usr/bin/env bash
# Grant Greenlight's Microsoft Graph application roles to the bot's user-assigned managed identity.
#
# Plain ARM/Bicep cannot grant Entra app roles, so an admin runs this once after `az deployment group create`
# (and again whenever a role is added here: it is idempotent, granting only what is missing).
# The signed-in account needs AppRoleAssignment.ReadWrite.All + Application.Read.All on Graph, in practice a
# Privileged Role Administrator or Global Administrator. Requires the Azure CLI (`az login` first).
#
# Usage:
#   infra/scripts/grant-graph-roles.sh --principal-id <bot identity object id>
#   infra/scripts/grant-graph-roles.sh --resource-group <rg> [--deployment main]   # reads the botPrincipalId output
# Options:
#   --teams-fallback   also grant TeamsAppInstallation.ReadWriteForUser.All (if the Self variant returns 403)
#   --dry-run          show what would be granted, change nothing
set -euo pipefail

GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
GRAPH_URL="https://graph.microsoft.com/v1.0"

# Application roles on Microsoft Graph (docs/reference/azure-deployment.md §6.1), as "id name".
ROLES=(
  "78145de6-330d-4800-a6ce-494ff2d33d07 DeviceManagementApps.ReadWrite.All"     # Win32 LOB apps, upload, assignments
  "bf7b1a76-6e77-406b-b258-bf5c7720e98f Group.Create"                           # per-app assignment groups
  "dbaae8cf-10b5-4b86-a4a1-f871c94c6695 GroupMember.ReadWrite.All"              # add requesters to those groups
  "df021288-bdef-4463-88db-98f22de89214 User.Read.All"                          # managers, users as group members
  "908de74d-f8b2-4d6b-a9ed-2a17b3b78179 TeamsAppInstallation.ReadWriteSelfForUser.All"  # install the bot for approvers
)
TEAMS_FALLBACK_ROLE="74ef0291-ca83-4d02-8c7e-d2391e6a444f TeamsAppInstallation.ReadWriteForUser.All"

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "grant-graph-roles: $*" >&2
  exit 1
}

principal_id=""
resource_group=""
deployment="main"
dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --principal-id) principal_id="${2:-}"; shift 2 ;;
    --resource-group|-g) resource_group="${2:-}"; shift 2 ;;
    --deployment) deployment="${2:-}"; shift 2 ;;
    --teams-fallback) ROLES+=("$TEAMS_FALLBACK_ROLE"); shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage ;;
    *) echo "grant-graph-roles: unknown argument: $1" >&2; usage ;;
  esac
done

command -v az >/dev/null || die "the Azure CLI (az) is required"

if [[ -z "$principal_id" ]]; then
  [[ -n "$resource_group" ]] || usage
  principal_id="$(az deployment group show -g "$resource_group" -n "$deployment" \
    --query properties.outputs.botPrincipalId.value -o tsv)"
  [[ -n "$principal_id" ]] || die "deployment '$deployment' in '$resource_group' has no botPrincipalId output"
fi
[[ "$principal_id" =~ ^[0-9a-fA-F-]{36}$ ]] || die "principal id must be an object id (GUID), got '$principal_id'"

graph_sp="$(az ad sp show --id "$GRAPH_APP_ID" --query id -o tsv)"
[[ -n "$graph_sp" ]] || die "could not resolve the Microsoft Graph service principal in this tenant"
# "id<TAB>value" per app role Graph offers in this tenant, to confirm the ids below before granting anything.
graph_roles="$(az ad sp show --id "$GRAPH_APP_ID" --query "appRoles[].[id, value]" -o tsv)"

existing="$(az rest --method GET --uri "$GRAPH_URL/servicePrincipals/$principal_id/appRoleAssignments" \
  --query "value[?resourceId=='$graph_sp'].appRoleId" -o tsv)"

# Role ids are stable, but a wrong id would silently grant something else: check every id names the role we
# mean before granting anything, so a mismatch leaves the identity untouched.
for entry in "${ROLES[@]}"; do
  role_id="${entry%% *}"
  role_name="${entry#* }"
  actual_name="$(awk -F '\t' -v id="$role_id" 'tolower($1) == tolower(id) { print $2 }' <<<"$graph_roles")"
  [[ "$actual_name" == "$role_name" ]] || die "Graph app role $role_id is '${actual_name:-unknown}', expected '$role_name'"
done

granted=0
for entry in "${ROLES[@]}"; do
  role_id="${entry%% *}"
  role_name="${entry#* }"
  if grep -qix "$role_id" <<<"$existing"; then
    echo "present  $role_name"
    continue
  fi
  if [[ "$dry_run" == 1 ]]; then
    echo "missing  $role_name (dry run: not granted)"
    continue
  fi
  az rest --method POST --uri "$GRAPH_URL/servicePrincipals/$principal_id/appRoleAssignments" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$role_id\"}" \
    --output none
  echo "granted  $role_name"
  granted=$((granted + 1))
done

echo "done: $granted role(s) granted to $principal_id"
