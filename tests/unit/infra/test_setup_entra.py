"""infra/scripts/setup-entra.sh: the API app registration issues v2 tokens with app roles and group claims, the
approver and admin groups are role-assignable, each group gets its app role; --dry-run prints and calls nothing.

A fake `az` first on PATH (the tenant cannot be reached offline) answers the script's lookups as an empty tenant
would and records every call, with the content of `@file` arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.infra.conftest import SCRIPTS_DIR

SCRIPT = SCRIPTS_DIR / "setup-entra.sh"

FAKE_AZ = r"""
import json, os, sys, uuid
args = sys.argv[1:]
log = os.environ["FAKE_AZ_LOG"]
files = {a: open(a[1:]).read() for a in args if a.startswith("@")}
with open(log, "a") as out:
    out.write(json.dumps({"args": args, "files": files}) + "\n")
joined = " ".join(args)
if args[:3] in (["ad", "app", "create"], ["ad", "sp", "create"]):
    print(uuid.uuid4())
elif args[:3] == ["ad", "app", "show"] and "--query" in args and args[args.index("--query") + 1] == "id":
    print("app-object-id")
elif args[:3] == ["ad", "sp", "show"]:
    print("role-" + joined.split("value=='")[1].split("'")[0])
elif args[:2] == ["rest", "--method"] and args[2] == "POST" and args[4].endswith("/groups"):
    print("group-" + json.loads(args[args.index("--body") + 1])["mailNickname"])
"""


@pytest.fixture
def fake_az(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(f"#!{sys.executable}\n{FAKE_AZ}")
    az.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    log.touch()
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_AZ_LOG": str(log)}, log


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, timeout=30).returncode == 0


def test_creates_a_v2_api_with_app_roles_group_claims_and_role_assignable_groups(fake_az) -> None:
    env, log = fake_az
    result = run(env)
    assert result.returncode == 0, result.stderr
    made = calls(log)

    (create,) = [c for c in made if c["args"][:3] == ["ad", "app", "create"]]
    (roles,) = create["files"].values()
    assert sorted(r["value"] for r in json.loads(roles)) == ["Admin", "Approver", "Requester"]

    (patch,) = [c for c in made if c["args"][:3] == ["rest", "--method", "PATCH"]]
    body = json.loads(patch["args"][patch["args"].index("--body") + 1])
    assert body["api"]["requestedAccessTokenVersion"] == 2  # the code validates the v2 issuer
    assert body["groupMembershipClaims"] == "SecurityGroup"
    assert any(c["args"][-1] == "appRoleAssignmentRequired=true" for c in made)

    groups = {
        json.loads(c["args"][c["args"].index("--body") + 1])["mailNickname"]: json.loads(
            c["args"][c["args"].index("--body") + 1]
        )["isAssignableToRole"]
        for c in made
        if c["args"][:3] == ["rest", "--method", "POST"] and c["args"][4].endswith("/groups")
    }
    assert groups == {"greenlight-approvers": True, "greenlight-admins": True, "greenlight-requesters": False}

    assigned = [
        json.loads(c["args"][c["args"].index("--body") + 1])
        for c in made
        if c["args"][:3] == ["rest", "--method", "POST"] and c["args"][4].endswith("/appRoleAssignedTo")
    ]
    assert {(a["principalId"], a["appRoleId"]) for a in assigned} == {
        ("group-greenlight-approvers", "role-Approver"),
        ("group-greenlight-admins", "role-Admin"),
        ("group-greenlight-requesters", "role-Requester"),
    }
    assert "approverGroupIds=group-greenlight-approvers" in result.stdout


def test_dry_run_prints_the_calls_and_makes_none(fake_az) -> None:
    env, log = fake_az
    result = run(env, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert calls(log) == []
    printed = result.stdout + result.stderr
    assert "would run: az ad app create" in printed
    assert '"requestedAccessTokenVersion":2' in printed
    assert printed.count('isAssignableToRole\\":true') == 2
    assert "appRoleAssignmentRequired=true" in printed
