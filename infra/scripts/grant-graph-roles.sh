#!/usr/bin/env bash
# Grant Greenlight's Microsoft Graph application roles to the bot's user-assigned managed identity.
#
# The list is not written here: it comes from greenlight/graph/permissions.py (the least privileged permission of
# every Graph call the code makes; tests/unit/infra/test_graph_permissions.py keeps it true). Plain ARM/Bicep
# cannot grant Entra app roles, so an admin runs this once after `az deployment group create`, and again after an
# upgrade (idempotent: it grants only what is missing, and names roles held that are no longer needed).
# The signed-in account needs AppRoleAssignment.ReadWrite.All + Application.Read.All on Graph, in practice a
# Privileged Role Administrator. Requires the Azure CLI (`az login` first) and python3 (stdlib only).
#
# Usage:
#   infra/scripts/grant-graph-roles.sh --principal-id <bot identity object id>
#   infra/scripts/grant-graph-roles.sh --resource-group <rg> [--deployment main]   # reads the botPrincipalId output
# Options:
#   --dry-run        read the tenant, print the `az` calls that would grant, change nothing
#   --revoke-extra   also remove Graph app roles the identity holds that the code no longer needs
set -euo pipefail

GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
GRAPH_URL="https://graph.microsoft.com/v1.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
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
revoke_extra=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --principal-id) principal_id="${2:-}"; shift 2 ;;
    --resource-group|-g) resource_group="${2:-}"; shift 2 ;;
    --deployment) deployment="${2:-}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --revoke-extra) revoke_extra=1; shift ;;
    -h|--help) usage ;;
    *) echo "grant-graph-roles: unknown argument: $1" >&2; usage ;;
  esac
done

command -v az >/dev/null || die "the Azure CLI (az) is required"
command -v python3 >/dev/null || die "python3 is required (it reads greenlight/graph/permissions.py)"

# "id name" per role, from the one table of Graph permissions.
mapfile -t ROLES < <(cd "$repo_root" && python3 -m greenlight.graph.permissions --grant-list)
[[ ${#ROLES[@]} -gt 0 ]] || die "greenlight/graph/permissions.py lists no permission to grant"

# Print a command (dry run) or run it.
run() {
  if [[ "$dry_run" == 1 ]]; then
    printf 'would run:'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

if [[ -z "$principal_id" ]]; then
  [[ -n "$resource_group" ]] || usage
  principal_id="$(az deployment group show -g "$resource_group" -n "$deployment" \
    --query properties.outputs.botPrincipalId.value -o tsv)"
  [[ -n "$principal_id" ]] || die "deployment '$deployment' in '$resource_group' has no botPrincipalId output"
fi
[[ "$principal_id" =~ ^[0-9a-fA-F-]{36}$ ]] || die "principal id must be an object id (GUID), got '$principal_id'"

graph_sp="$(az ad sp show --id "$GRAPH_APP_ID" --query id -o tsv)"
[[ -n "$graph_sp" ]] || die "could not resolve the Microsoft Graph service principal in this tenant"
# "id<TAB>value" per app role Graph offers in this tenant, to confirm the ids before granting anything.
graph_roles="$(az ad sp show --id "$GRAPH_APP_ID" --query "appRoles[].[id, value]" -o tsv)"

# "assignment id<TAB>app role id" of what the identity already holds on Graph.
existing="$(az rest --method GET --uri "$GRAPH_URL/servicePrincipals/$principal_id/appRoleAssignments" \
  --query "value[?resourceId=='$graph_sp'].[id, appRoleId]" -o tsv)"

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
  if awk -F '\t' '{ print $2 }' <<<"$existing" | grep -qix "$role_id"; then
    echo "present  $role_name"
    continue
  fi
  echo "missing  $role_name"
  run az rest --method POST --uri "$GRAPH_URL/servicePrincipals/$principal_id/appRoleAssignments" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\":\"$principal_id\",\"resourceId\":\"$graph_sp\",\"appRoleId\":\"$role_id\"}" \
    --output none
  [[ "$dry_run" == 1 ]] || { echo "granted  $role_name"; granted=$((granted + 1)); }
done

# Roles held but no longer needed (for example User.Read.All or TeamsAppInstallation.* from older versions).
extra=0
while IFS=$'\t' read -r assignment_id role_id; do
  [[ -n "$role_id" ]] || continue
  printf '%s\n' "${ROLES[@]}" | grep -qi "^$role_id " && continue
  role_name="$(awk -F '\t' -v id="$role_id" 'tolower($1) == tolower(id) { print $2 }' <<<"$graph_roles")"
  echo "extra    ${role_name:-$role_id} (not needed by this version)"
  extra=$((extra + 1))
  if [[ "$revoke_extra" == 1 ]]; then
    run az rest --method DELETE \
      --uri "$GRAPH_URL/servicePrincipals/$principal_id/appRoleAssignments/$assignment_id" --output none
  fi
done <<<"$existing"
if [[ "$extra" -gt 0 && "$revoke_extra" == 0 ]]; then
  echo "rerun with --revoke-extra to remove the $extra role(s) marked extra"
fi

echo "done: $granted role(s) granted to $principal_id"
