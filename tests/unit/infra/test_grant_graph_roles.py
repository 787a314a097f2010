"""infra/scripts/grant-graph-roles.sh: valid bash, grants exactly the list of greenlight/graph/permissions.py,
idempotent, names (and on request revokes) roles no longer needed, and a dry run that prints the `az` calls.

The Azure CLI and a real tenant's Graph service principals cannot run offline and the sandbox does not play the
service-principal API, so a fake `az` (a small Python script first on PATH) stands in at that boundary: it keeps
the identity's app role assignments in a JSON file, answers the three kinds of call the script makes, and records
every call, so the tests observe what the script would have done to the tenant.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from greenlight.graph.permissions import APP_ROLE_IDS, granted_permissions
from tests.unit.infra.conftest import SCRIPTS_DIR

SCRIPT = SCRIPTS_DIR / "grant-graph-roles.sh"
GRAPH_SP = "11111111-2222-3333-4444-555555555555"
BOT_PRINCIPAL = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

EXPECTED_ROLES = {APP_ROLE_IDS[name]: name for name in granted_permissions()}
# Held by identities deployed with older versions; the code no longer needs them.
GROUP_READWRITE = ("62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All")
TEAMS_SELF = ("908de74d-f8b2-4d6b-a9ed-2a17b3b78179", "TeamsAppInstallation.ReadWriteSelfForUser.All")

FAKE_AZ = r"""
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_AZ_STATE"])
data = json.loads(state.read_text())
data["calls"].append(sys.argv[1:])
args = sys.argv[1:]

def arg(name):
    return args[args.index(name) + 1]

def save():
    state.write_text(json.dumps(data))

if args[:3] == ["ad", "sp", "show"]:
    query = arg("--query")
    if query == "id":
        print(data["graph_sp"])
    elif query.startswith("appRoles"):
        for role_id, value in data["graph_roles"].items():
            print(f"{role_id}\t{value}")
    else:
        sys.exit(f"fake az: unexpected query {query}")
elif args[:2] == ["deployment", "group"]:
    print(data["deployment_output"])
elif args[0] == "rest":
    method, uri = arg("--method"), arg("--uri")
    principal = uri.split("/servicePrincipals/")[1].split("/")[0]
    held = data["assignments"].setdefault(principal, [])
    if method == "GET":
        for role_id in held:
            print(f"assignment-{role_id}\t{role_id}")  # the script asks for [id, appRoleId] as tsv
    elif method == "POST":
        body = json.loads(arg("--body"))
        assert body["principalId"] == principal and body["resourceId"] == data["graph_sp"], body
        if body["appRoleId"] in held:
            print("Permission being assigned already exists on the object", file=sys.stderr)
            save()
            sys.exit(1)
        held.append(body["appRoleId"])
    elif method == "DELETE":
        held.remove(uri.rsplit("/assignment-", 1)[1])
    else:
        sys.exit(f"fake az: unexpected method {method}")
else:
    sys.exit(f"fake az: unexpected command {args}")
save()
"""


class FakeTenant:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        az = self.bin / "az"
        az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
        az.chmod(0o755)
        self.state = root / "tenant.json"
        graph_roles = {role_id: name for name, role_id in APP_ROLE_IDS.items()}
        graph_roles.update(dict([GROUP_READWRITE, TEAMS_SELF]))
        self.write(
            {
                "graph_sp": GRAPH_SP,
                "graph_roles": graph_roles,
                "assignments": {},
                "deployment_output": BOT_PRINCIPAL,
                "calls": [],
            }
        )

    def read(self) -> dict:
        return json.loads(self.state.read_text())

    def write(self, data: dict) -> None:
        self.state.write_text(json.dumps(data))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_AZ_STATE": str(self.state)}
        return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)

    def posts(self) -> list[list[str]]:
        return [call for call in self.read()["calls"] if call[:3] == ["rest", "--method", "POST"]]


@pytest.fixture
def tenant(tmp_path: Path) -> FakeTenant:
    return FakeTenant(tmp_path)


def test_script_is_valid_bash() -> None:
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_script_has_no_role_list_of_its_own() -> None:
    """The one list is greenlight/graph/permissions.py; a copy here would drift."""
    assert re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", SCRIPT.read_text()) == [
        "00000003-0000-0000-c000-000000000000"
    ]


def test_grants_the_roles_of_the_permission_table(tenant: FakeTenant) -> None:
    result = tenant.run("--principal-id", BOT_PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert sorted(tenant.read()["assignments"][BOT_PRINCIPAL]) == sorted(EXPECTED_ROLES)
    assert f"done: {len(EXPECTED_ROLES)} role(s) granted" in result.stdout


def test_second_run_grants_nothing(tenant: FakeTenant) -> None:
    assert tenant.run("--principal-id", BOT_PRINCIPAL).returncode == 0
    posts_after_first = len(tenant.posts())
    again = tenant.run("--principal-id", BOT_PRINCIPAL)
    assert again.returncode == 0, again.stderr
    assert len(tenant.posts()) == posts_after_first
    assert again.stdout.count("present  ") == len(EXPECTED_ROLES)


def test_grants_only_the_missing_roles(tenant: FakeTenant) -> None:
    data = tenant.read()
    already = [APP_ROLE_IDS["DeviceManagementApps.ReadWrite.All"]]
    data["assignments"][BOT_PRINCIPAL] = list(already)
    tenant.write(data)
    result = tenant.run("--principal-id", BOT_PRINCIPAL)
    assert result.returncode == 0, result.stderr
    granted = {json.loads(call[call.index("--body") + 1])["appRoleId"] for call in tenant.posts()}
    assert granted == set(EXPECTED_ROLES) - set(already)


def test_roles_no_longer_needed_are_named_and_kept_unless_asked(tenant: FakeTenant) -> None:
    data = tenant.read()
    data["assignments"][BOT_PRINCIPAL] = [GROUP_READWRITE[0], TEAMS_SELF[0]]
    tenant.write(data)
    result = tenant.run("--principal-id", BOT_PRINCIPAL)
    assert result.returncode == 0, result.stderr
    assert "extra    Group.ReadWrite.All" in result.stdout and "--revoke-extra" in result.stdout
    assert GROUP_READWRITE[0] in tenant.read()["assignments"][BOT_PRINCIPAL]
    revoked = tenant.run("--principal-id", BOT_PRINCIPAL, "--revoke-extra")
    assert revoked.returncode == 0, revoked.stderr
    assert sorted(tenant.read()["assignments"][BOT_PRINCIPAL]) == sorted(EXPECTED_ROLES)


def test_dry_run_prints_the_az_calls_and_changes_nothing(tenant: FakeTenant) -> None:
    result = tenant.run("--principal-id", BOT_PRINCIPAL, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert tenant.posts() == []
    would = [line for line in result.stdout.splitlines() if line.startswith("would run: az rest --method POST")]
    assert len(would) == len(EXPECTED_ROLES)
    for role_id in EXPECTED_ROLES:
        assert any(role_id in line and BOT_PRINCIPAL in line for line in would)


def test_reads_the_principal_from_the_deployment_outputs(tenant: FakeTenant) -> None:
    result = tenant.run("--resource-group", "rg-greenlight")
    assert result.returncode == 0, result.stderr
    show = [call for call in tenant.read()["calls"] if call[:3] == ["deployment", "group", "show"]]
    assert show and "properties.outputs.botPrincipalId.value" in show[0]
    assert len(tenant.read()["assignments"][BOT_PRINCIPAL]) == len(EXPECTED_ROLES)


def test_refuses_a_role_id_that_names_another_role_in_the_tenant(tenant: FakeTenant) -> None:
    data = tenant.read()
    data["graph_roles"][APP_ROLE_IDS["Group.Create"]] = "Directory.ReadWrite.All"
    tenant.write(data)
    result = tenant.run("--principal-id", BOT_PRINCIPAL)
    assert result.returncode != 0
    assert "expected 'Group.Create'" in result.stderr
    assert tenant.posts() == []  # every id is checked before the first grant


def test_rejects_a_principal_that_is_not_an_object_id(tenant: FakeTenant) -> None:
    result = tenant.run("--principal-id", "id-greenlight-prod-bot")
    assert result.returncode != 0
    assert "must be an object id" in result.stderr
    assert tenant.read()["calls"] == []


def test_requires_a_principal_or_resource_group(tenant: FakeTenant) -> None:
    result = tenant.run()
    assert result.returncode == 2
    assert "Usage" in result.stderr
