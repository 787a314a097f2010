"""checkov over infra/bicep: the Bicep must parse, pass every check, and skip only with a reviewed, written reason.

checkov runs from its own virtual environment (infra/scripts/ensure-checkov.sh; it cannot share .venv because it
pins packaging<24). A parse error does not change checkov's exit code, so these tests read its JSON report.
One scan covers a copy of the real tree plus a few deliberately broken files, which prove that the parse-error
guard and Greenlight's custom checks (infra/checkov) really fire.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.conftest import BICEP_DIR, CHECKS_DIR, REPO_ROOT, SCRIPTS_DIR

# Every skip must be one of these (docs/reference/azure-deployment.md §5.5). Adding a skip means adding it here,
# which puts it in front of a reviewer.
REVIEWED_SKIPS = {
    "CKV_AZURE_17",  # client certificates: the Bot Framework Connector presents none
    "CKV_AZURE_35",  # storage firewall default deny: no VNet in v1
    "CKV_AZURE_59",  # storage public network access: no VNet in v1
    "CKV_AZURE_78",  # ftpsState: not supported on Flex
    "CKV_AZURE_109",  # Key Vault firewall: Deny by default, Allow only by an explicit parameter checkov cannot evaluate
    "CKV_AZURE_189",  # Key Vault public network access: no VNet in v1
    "CKV_AZURE_206",  # storage replication: LRS accepted
    "CKV_AZURE_212",  # numberOfWorkers: not applicable to Flex
    "CKV_AZURE_213",  # App Service health check: not meaningful on Flex
    "CKV_AZURE_222",  # site public network access: the Bot Connector must reach /api/messages
    "CKV_AZURE_225",  # zone-redundant plan: doubles the always-ready cost
}

# A nullable parameter: valid Bicep that pycep-parser 0.5.1 cannot parse (§5.3).
UNPARSABLE = """
param value string?
output echoed string = value
"""

LITERAL_NAME_ROLE = """
param principalId string
resource role 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: 'fixed-name'
  properties: {
    roleDefinitionId: '4633458b-17de-408a-b874-0445c86b69e6'
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
"""


@dataclass(frozen=True)
class Scan:
    report: dict[str, Any]

    def _in(self, kind: str, folder: str) -> list[dict[str, Any]]:
        return [r for r in self.report["results"][kind] if r["file_path"].startswith(f"/{folder}/")]

    def failed(self, folder: str) -> list[dict[str, Any]]:
        return self._in("failed_checks", folder)

    def passed(self, folder: str) -> list[dict[str, Any]]:
        return self._in("passed_checks", folder)

    def skipped(self, folder: str) -> list[dict[str, Any]]:
        return self._in("skipped_checks", folder)

    def parsing_errors(self, folder: str) -> list[str]:
        root = self.report["_root"]
        return [p for p in self.report["results"]["parsing_errors"] if Path(p).is_relative_to(root / folder)]


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    # The project's interpreter makes the tool environment, so it gets the same Python as .venv.
    install = subprocess.run(
        ["bash", str(SCRIPTS_DIR / "ensure-checkov.sh")],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if install.returncode != 0:
        pytest.fail(f"could not install checkov (infra/scripts/ensure-checkov.sh): {install.stderr[-2000:]}")
    checkov = install.stdout.strip().splitlines()[-1]
    root = tmp_path_factory.mktemp("checkov")
    shutil.copytree(BICEP_DIR, root / "real")
    broken = root / "broken"
    broken.mkdir()
    (broken / "unparsable.bicep").write_text(UNPARSABLE)
    (broken / "role.bicep").write_text(LITERAL_NAME_ROLE)
    bot = (BICEP_DIR / "modules" / "bot.bicep").read_text()
    (broken / "bot.bicep").write_text(bot.replace("msaAppType: 'UserAssignedMSI'", "msaAppType: 'MultiTenant'"))

    command = [checkov, "-d", str(root), "--framework", "bicep", "--skip-download", "-o", "json"]
    proc = subprocess.run(
        [*command, "--external-checks-dir", str(CHECKS_DIR)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO_ROOT,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]  # one object per framework
    (report,) = [r for r in reports if r["check_type"] == "bicep"]
    report["_root"] = root
    return Scan(report)


def test_every_bicep_file_parses(scan: Scan) -> None:
    assert scan.parsing_errors("real") == []


def test_parse_errors_are_detected_despite_exit_code_zero(scan: Scan) -> None:
    """The negative control: otherwise an unparsable module would silently pass with nothing checked."""
    assert [Path(p).name for p in scan.parsing_errors("broken")] == ["unparsable.bicep"]


def test_no_check_fails(scan: Scan) -> None:
    failures = [f"{r['check_id']} {r['resource']} {r['file_path']}" for r in scan.failed("real")]
    assert failures == []


def test_checks_actually_ran_on_the_tree(scan: Scan) -> None:
    passed = {(r["check_id"], r["resource"]) for r in scan.passed("real")}
    assert ("CKV_AZURE_70", "Microsoft.Web/sites.site") in passed  # https only
    assert ("CKV_AZURE_44", "Microsoft.Storage/storageAccounts.account") in passed  # TLS 1.2
    assert ("CKV_AZURE_110", "Microsoft.KeyVault/vaults.vault") in passed  # purge protection


def test_every_skip_is_reviewed_and_explained(scan: Scan) -> None:
    skipped = scan.skipped("real")
    assert skipped, "expected the justified skips of the deployment reference §5.5"
    for result in skipped:
        assert result["check_id"] in REVIEWED_SKIPS, f"unreviewed skip {result['check_id']} in {result['file_path']}"
        reason = (result["check_result"].get("suppress_comment") or "").strip()
        assert len(reason.split()) >= 4, f"{result['check_id']} in {result['file_path']} is skipped without a reason"


def test_custom_checks_pass_on_the_tree(scan: Scan, bicep_files: dict[str, str]) -> None:
    passed = [(r["check_id"], r["resource"]) for r in scan.passed("real")]
    assert ("CKV_GL_BOT_1", "Microsoft.BotService/botServices.bot") in passed
    assert ("CKV_GL_FLEX_1", "Microsoft.Web/sites.site") in passed
    declared = sum(len(re.findall(r"'Microsoft\.Authorization/roleAssignments@", t)) for t in bicep_files.values())
    assert declared > 0
    assert sum(1 for check_id, _ in passed if check_id == "CKV_GL_RBAC_1") == declared


def test_bot_check_rejects_a_multi_tenant_bot(scan: Scan) -> None:
    failed = {(r["check_id"], Path(r["file_path"]).name) for r in scan.failed("broken")}
    assert ("CKV_GL_BOT_1", "bot.bicep") in failed


def test_role_assignment_check_rejects_a_literal_name(scan: Scan) -> None:
    failed = {(r["check_id"], Path(r["file_path"]).name) for r in scan.failed("broken")}
    assert ("CKV_GL_RBAC_1", "role.bicep") in failed
