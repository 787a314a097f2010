"""Which Microsoft Graph application permission each Graph call of Greenlight needs: the one source for the grant
script (infra/scripts/grant-graph-roles.sh), docs/DEPLOY.md and the least-privilege test
(tests/unit/infra/test_graph_permissions.py, which scans the code's Graph calls against this table).

Each row is a Graph endpoint (path relative to the version, `{id}` = one path segment), an HTTP method and the
*least privileged* application permission Microsoft documents for it, with the page that says so. A call covered
only by a `planned` row (code another engineer is adding) fails the test until the row is flipped to
`planned=False`: that is the moment its permission starts being granted. A non-planned row that no call uses also
fails the test, so nothing is granted that nothing calls.

Stdlib only: the grant script runs `python3 -m greenlight.graph.permissions` on an admin's machine.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

DOCS = "https://learn.microsoft.com/graph/api/"

# Application role ids on the Microsoft Graph service principal (appId 00000003-0000-0000-c000-000000000000).
# The grant script checks every id against the tenant's Graph service principal before granting anything.
APP_ROLE_IDS = {
    "DeviceManagementApps.Read.All": "7a6ee1e7-141e-4cec-ae74-d9db155731ff",
    "DeviceManagementApps.ReadWrite.All": "78145de6-330d-4800-a6ce-494ff2d33d07",
    "DeviceManagementManagedDevices.Read.All": "2f51be20-0bb4-4fed-bf7b-db946066c75e",
    "Group.Create": "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadBasic.All": "97235f07-e226-4f63-ace3-39588e11d3a1",
}

# A granted permission covers these narrower ones (Microsoft lists each as "higher privileged" for the other's calls).
IMPLIES = {
    "DeviceManagementApps.ReadWrite.All": {"DeviceManagementApps.Read.All"},
    "GroupMember.ReadWrite.All": {"GroupMember.Read.All"},
    "User.Read.All": {"User.ReadBasic.All"},
}


@dataclass(frozen=True)
class GraphPermission:
    method: str
    pattern: str  # path after /v1.0 or /beta; {id} matches one segment
    permission: str  # least privileged application permission
    doc: str  # Microsoft Learn page stating it
    used_for: str
    planned: bool = False  # the call is being added; not granted until the code makes it

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and _segments_match(self.pattern, path)


APPS = "deviceAppManagement/mobileApps"
CONTENT = f"{APPS}/{{id}}/microsoft.graph.win32LobApp/contentVersions"
FILE = f"{CONTENT}/{{id}}/files/{{id}}"

PERMISSIONS: tuple[GraphPermission, ...] = (
    # Intune Win32 app publishing (greenlight/intune/upload.py, assign.py)
    GraphPermission("GET", APPS, "DeviceManagementApps.Read.All", DOCS + "intune-apps-mobileapp-list",
                    "find the app a retry already created (by marker)"),
    GraphPermission("POST", APPS, "DeviceManagementApps.ReadWrite.All", DOCS + "intune-apps-win32lobapp-create",
                    "create the Win32 LOB app"),
    GraphPermission("GET", f"{APPS}/{{id}}", "DeviceManagementApps.Read.All", DOCS + "intune-apps-win32lobapp-get",
                    "read the app, poll publishingState"),
    GraphPermission("PATCH", f"{APPS}/{{id}}", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-win32lobapp-update", "set committedContentVersion"),
    GraphPermission("DELETE", f"{APPS}/{{id}}", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-win32lobapp-delete", "discard a half-created app"),
    GraphPermission("GET", CONTENT, "DeviceManagementApps.Read.All", DOCS + "intune-apps-mobileappcontent-list",
                    "list content versions (resume)"),
    GraphPermission("POST", CONTENT, "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-mobileappcontent-create", "create a content version"),
    GraphPermission("GET", f"{CONTENT}/{{id}}/files", "DeviceManagementApps.Read.All",
                    DOCS + "intune-apps-mobileappcontentfile-list", "list content files (resume)"),
    GraphPermission("POST", f"{CONTENT}/{{id}}/files", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-mobileappcontentfile-create", "create the content file"),
    GraphPermission("GET", FILE, "DeviceManagementApps.Read.All", DOCS + "intune-apps-mobileappcontentfile-get",
                    "poll the SAS URL and upload state"),
    GraphPermission("POST", f"{FILE}/commit", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-mobileappcontentfile-commit", "commit the uploaded file"),
    GraphPermission("POST", f"{FILE}/renewUpload", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-mobileappcontentfile-renewupload", "renew an expiring SAS URL"),
    GraphPermission("GET", f"{APPS}/{{id}}/assignments", "DeviceManagementApps.Read.All",
                    DOCS + "intune-apps-mobileappassignment-list", "merge with existing assignments"),
    GraphPermission("POST", f"{APPS}/{{id}}/assign", "DeviceManagementApps.ReadWrite.All",
                    DOCS + "intune-apps-mobileapp-assign", "assign the app to its group"),
    # Planned: a publish-pipeline check of what Intune accepts before creating the app (name as the call lands).
    GraphPermission("GET", f"{APPS}/getPublishingConstraints", "DeviceManagementApps.Read.All",
                    DOCS + "intune-apps-mobileapp-list",
                    "publish pipeline: constraints check (confirm name and page when the call lands)", planned=True),
    # Per-app assignment groups (greenlight/intune/assign.py)
    GraphPermission("GET", "groups", "GroupMember.Read.All", DOCS + "group-list",
                    "find the assignment group by displayName"),
    GraphPermission("POST", "groups", "Group.Create", DOCS + "group-post-groups",
                    "create the assignment group Greenlight-<package>-<version>-<arch>"),
    # Tenant-wide by Microsoft's design: no narrower app permission exists. Approver and admin groups are created
    # role-assignable (isAssignableToRole), whose membership this permission cannot change (greenlight.graph.
    # role_groups warns at start when one is not).
    GraphPermission("POST", "groups/{id}/members/$ref", "GroupMember.ReadWrite.All", DOCS + "group-post-members",
                    "add requesters (or their devices) to the assignment group"),
    # Approvers (bot/approvers.py) and the start-up check of the approver/admin groups (greenlight/graph/role_groups.py)
    GraphPermission("GET", "groups/{id}/members", "GroupMember.Read.All", DOCS + "group-list-members",
                    "direct members of the approver groups"),
    GraphPermission("GET", "groups/{id}", "GroupMember.Read.All", DOCS + "group-get",
                    "check approver/admin groups are role-assignable"),
    # The requester's architecture (greenlight/requests/devices.py).
    GraphPermission("GET", "users/{id}/managedDevices", "DeviceManagementManagedDevices.Read.All",
                    DOCS + "user-list-manageddevices", "the requester's Intune devices (their architecture)"),
    # Approval policies (greenlight/policy/directory.py): the requester's manager, nested approver groups, and
    # whether the requester is in the groups a policy names.
    GraphPermission("GET", "users/{id}/manager", "User.Read.All", DOCS + "user-list-manager",
                    "the requester's manager as approver"),
    GraphPermission("GET", "groups/{id}/transitiveMembers/microsoft.graph.user", "GroupMember.Read.All",
                    DOCS + "group-list-transitivemembers", "approvers of a policy stage, nested groups included"),
    GraphPermission("POST", "users/{id}/checkMemberGroups", "GroupMember.Read.All",
                    DOCS + "directoryobject-checkmembergroups", "is the requester in a policy's groups"),
    GraphPermission("POST", "users/{id}/checkMemberGroups", "User.ReadBasic.All",
                    DOCS + "directoryobject-checkmembergroups", "(the same call also needs to read the user)"),
    # People's display names on the cards' stage lines (greenlight/policy/directory.py, DirectoryNames).
    GraphPermission("GET", "users/{id}", "User.Read.All", DOCS + "user-get",
                    "display names of approvers the bot never heard a name from"),
)  # fmt: skip


def _segments_match(pattern: str, path: str) -> bool:
    wanted, actual = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(wanted) != len(actual):
        return False
    return all(w == a or (w == "{id}" and a) for w, a in zip(wanted, actual, strict=True))


def normalise(path: str) -> str:
    """A call's path as the table writes it: no host, version, query or leading slash; every placeholder `{id}`."""
    path = re.sub(r"^https://[^/]+/", "", path)
    path = re.sub(r"^(v1\.0|beta)/", "", path.lstrip("/")).split("?", 1)[0]
    return re.sub(r"\{[^}]*\}", "{id}", path)


def covering(method: str, path: str) -> list[GraphPermission]:
    """The table rows for one call (normalised path)."""
    return [row for row in PERMISSIONS if row.matches(method, normalise(path))]


def required_permissions() -> set[str]:
    """Least privileged permissions of every non-planned row."""
    return {row.permission for row in PERMISSIONS if not row.planned}


def granted_permissions() -> list[str]:
    """What the bot identity is granted: the required permissions minus those a granted broader one implies."""
    required = required_permissions()
    implied = set().union(*(IMPLIES.get(p, set()) for p in required))
    return sorted(required - implied)


def is_granted(permission: str, granted: set[str] | None = None) -> bool:
    granted = set(granted_permissions()) if granted is None else granted
    return permission in granted or any(permission in IMPLIES.get(g, set()) for g in granted)


def main(argv: list[str]) -> int:
    """`--grant-list`: "<app role id> <permission>" per line, for grant-graph-roles.sh. `--table`: markdown."""
    if argv == ["--grant-list"]:
        for name in granted_permissions():
            print(f"{APP_ROLE_IDS[name]} {name}")
        return 0
    if argv == ["--table"]:
        print("| method | endpoint | least privileged permission | granted as | used for |\n|---|---|---|---|---|")
        for row in PERMISSIONS:
            held = (
                "planned: not granted"
                if row.planned
                else next(
                    (g for g in granted_permissions() if g == row.permission or row.permission in IMPLIES.get(g, ())),
                    "",
                )
            )
            print(f"| {row.method} | `{row.pattern}` | [{row.permission}]({row.doc}) | {held} | {row.used_for} |")
        return 0
    print("usage: python3 -m greenlight.graph.permissions --grant-list | --table", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
