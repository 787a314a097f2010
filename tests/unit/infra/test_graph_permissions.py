"""Least privilege, enforced: every Graph call in the code has a row in greenlight/graph/permissions.py, every
permission granted is used by a call, the grant script and docs/DEPLOY.md grant exactly that list.

The calls are found statically (tests/unit/infra/graph_calls.py), so a call on a code path no test exercises is
still checked. When this fails after you added a Graph call: add its row (least privileged application permission
from the call's Microsoft Learn page) or flip its `planned` flag, then regenerate the table in docs/DEPLOY.md.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from greenlight.graph import permissions
from tests.unit.infra.conftest import REPO_ROOT
from tests.unit.infra.graph_calls import GraphCall, calls_in_source, graph_calls

SCANNED = ("greenlight", "bot", "functions", "orchestrations")
# The generic transport: it sends whatever path its callers give it (the callers are scanned).
NOT_SCANNED = ("greenlight/graph/client.py",)


@pytest.fixture(scope="module")
def calls() -> list[GraphCall]:
    found = graph_calls(REPO_ROOT, SCANNED, NOT_SCANNED)
    assert len(found) >= 20, "the scanner no longer finds the publish flow's Graph calls"
    return found


def test_every_graph_call_goes_through_a_receiver_the_scanner_knows(calls: list[GraphCall]) -> None:
    unknown = [f"{c.receiver}.{c.method} {c.path} ({c.where})" for c in calls if c.receiver]
    assert unknown == [], "name the Graph client `graph` (or extend RECEIVER in graph_calls.py)"


def test_every_graph_call_path_can_be_resolved(calls: list[GraphCall]) -> None:
    unresolved = [c.where for c in calls if c.path is None]
    assert unresolved == [], "write these Graph paths as literals / f-strings the scanner can read"


def test_every_graph_call_has_a_least_privileged_permission(calls: list[GraphCall]) -> None:
    uncovered = [f"{c.method} {c.path} ({c.where})" for c in calls if c.path and not _rows(c)]
    assert uncovered == [], "add a row to greenlight/graph/permissions.py for each"


def test_no_call_relies_on_a_planned_row(calls: list[GraphCall]) -> None:
    only_planned = [
        f"{c.method} {c.path} ({c.where})" for c in calls if c.path and _rows(c) and all(r.planned for r in _rows(c))
    ]
    assert only_planned == [], "the code now makes these calls: set planned=False on their rows so they are granted"


def test_every_permission_granted_is_used_by_a_call(calls: list[GraphCall]) -> None:
    used = {row for c in calls if c.path for row in _rows(c)}
    unused = [f"{r.method} {r.pattern}" for r in permissions.PERMISSIONS if not r.planned and r not in used]
    assert unused == [], "no code makes these calls: remove the rows (or mark them planned)"
    needed = {r.permission for r in used}
    assert all(any(permissions.is_granted(p, {g}) for p in needed) for g in permissions.granted_permissions())


def test_every_used_permission_is_granted(calls: list[GraphCall]) -> None:
    missing = {row.permission for c in calls if c.path for row in _rows(c) if not row.planned}
    assert [p for p in sorted(missing) if not permissions.is_granted(p)] == []


def test_what_is_granted_today() -> None:
    """The reviewed outcome; a change here is a change of the app's power in every tenant."""
    assert permissions.granted_permissions() == [
        "DeviceManagementApps.ReadWrite.All",
        "DeviceManagementManagedDevices.Read.All",
        "Group.Create",
        "GroupMember.ReadWrite.All",
        "User.Read.All",
    ]


def test_every_row_names_a_documented_permission_with_a_known_role_id() -> None:
    for row in permissions.PERMISSIONS:
        assert row.permission in permissions.APP_ROLE_IDS, row
        assert row.doc.startswith("https://learn.microsoft.com/graph/api/"), row
        assert row.method in {"GET", "POST", "PATCH", "DELETE", "PUT"}, row


def test_the_grant_list_is_what_the_module_prints() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "greenlight.graph.permissions", "--grant-list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    expected = [f"{permissions.APP_ROLE_IDS[p]} {p}" for p in permissions.granted_permissions()]
    assert [line for line in out if line] == expected


def test_deploy_md_shows_the_generated_permission_table() -> None:
    table = subprocess.run(
        [sys.executable, "-m", "greenlight.graph.permissions", "--table"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deploy = (REPO_ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    assert table in deploy, "regenerate: python3 -m greenlight.graph.permissions --table"


# ---------------------------------------------------------------- the scanner itself (negative controls)

SAMPLE = """
USERS = "users"

class Lookup:
    def _devices(self, user_id):
        return f"{USERS}/{user_id}/managedDevices"

    async def run(self, graph, user_id, group_id):
        await graph.get(self._devices(user_id))
        await self.graph.post(f"groups/{group_id}/owners/$ref", {})
        await self._graph.request("DELETE", f"{USERS}/{user_id}")
        await graph.get(some_function_result())
        await client.post(f"{USERS}/{user_id}/sendMail", {})
        await self.cache.get("winget/index")
        claims.get("groups")
"""


def test_scanner_resolves_constants_helpers_and_every_call_style() -> None:
    found = {(c.method, c.path, c.receiver) for c in calls_in_source(SAMPLE, "sample.py")}
    assert found == {
        ("GET", "users/{}/managedDevices", ""),
        ("POST", "groups/{}/owners/$ref", ""),
        ("DELETE", "users/{}", ""),
        ("GET", None, ""),
        ("POST", "users/{}/sendMail", "client"),  # a Graph path on an unknown receiver is reported, not skipped
    }


def test_an_uncovered_call_and_a_planned_only_call_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    planned = permissions.GraphPermission(
        "GET", "users/{id}/sendMailLater", "Mail.Send", permissions.DOCS + "user-sendmail", "a call being added",
        planned=True,
    )  # fmt: skip
    monkeypatch.setattr(permissions, "PERMISSIONS", (*permissions.PERMISSIONS, planned))
    owners = GraphCall("sample.py:1", "POST", "groups/{}/owners/$ref")
    later = GraphCall("sample.py:2", "GET", "users/{}/sendMailLater")
    assert _rows(owners) == []  # would fail test_every_graph_call_has_a_least_privileged_permission
    assert _rows(later) and all(r.planned for r in _rows(later))  # would fail the planned-row test


def _rows(call: GraphCall) -> list[permissions.GraphPermission]:
    assert call.path is not None
    return permissions.covering(call.method, call.path)


def test_the_sandbox_grants_its_clients_exactly_the_production_permissions() -> None:
    """The local stack (integration and e2e tests) then proves the grant is enough for every call it plays."""
    from sandbox.identity.app import DEFAULT_APP_ROLES

    assert sorted(DEFAULT_APP_ROLES) == permissions.granted_permissions()
