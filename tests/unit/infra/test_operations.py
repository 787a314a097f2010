"""Operations in the Bicep: retention, diagnostic settings, the immutable archive, basic-auth publishing off, closed
network defaults, and alerts whose queries match the log lines the code writes (text checks; the code side of
the throttling and trusted-group lines is exercised in tests/integration/intune/test_operational_signals.py)."""

from __future__ import annotations

import re

import pytest

from greenlight import telemetry
from greenlight.graph.role_groups import UNPROTECTED_MESSAGE
from tests.unit.infra.conftest import BICEP_DIR, REPO_ROOT
from tests.unit.infra.test_bicep_structure import code, resource_bodies


def module(name: str) -> str:
    return code((BICEP_DIR / "modules" / name).read_text(encoding="utf-8"))


def alert_queries() -> dict[str, str]:
    return dict(re.findall(r"name: '([\w-]+)'\n.*?query: '(.*?)'\n", module("alerts.bicep"), re.DOTALL))


def source_text(*folders: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for f in folders for p in (REPO_ROOT / f).rglob("*.py"))


def test_the_five_alerts_exist() -> None:
    assert set(alert_queries()) == {
        "publication-failed",
        "graph-throttled",
        "bot-delivery-failed",
        "audit-modified",
        "trusted-group-unprotected",
    }


def test_alerts_match_the_messages_greenlight_names() -> None:
    queries = alert_queries()
    assert f'"{telemetry.PUBLICATION_FAILED}"' in queries["publication-failed"]
    assert f'"{telemetry.BOT_DELIVERY_FAILED}"' in queries["bot-delivery-failed"]
    assert f'"{UNPROTECTED_MESSAGE}"' in queries["trusted-group-unprotected"]


@pytest.mark.parametrize(
    ("alert", "phrase"),
    [("bot-delivery-failed", "not delivered to"), ("bot-delivery-failed", "no approver could be reached")],
)
def test_bot_delivery_phrases_are_still_logged_by_the_bot(alert: str, phrase: str) -> None:
    """If a rewrite of the bot changes these log lines, the alert would silently stop firing."""
    assert f'"{phrase}"' in alert_queries()[alert]
    assert phrase in source_text("bot"), f"the bot no longer logs {phrase!r}: update alerts.bicep"


def test_throttling_phrase_is_the_graph_client_log_line() -> None:
    client = (REPO_ROOT / "greenlight" / "graph" / "client.py").read_text()
    assert '"graph %s %s answered %s; retry' in client
    assert 'Message has "graph " and Message has "answered 429"' in alert_queries()["graph-throttled"]


def test_audit_edits_are_alerted_from_storage_logs() -> None:
    query = alert_queries()["audit-modified"]
    assert query.startswith("StorageTableLogs") and '"/Audit"' in query
    for operation in ("UpdateEntity", "MergeEntity", "DeleteEntity", "InsertOrReplaceEntity", "InsertOrMergeEntity"):
        assert operation in query


def test_retention_meets_the_audit_trail() -> None:
    main = code((BICEP_DIR / "main.bicep").read_text())
    assert re.search(r"@minValue\(90\)\n@maxValue\(730\)\nparam logRetentionDays int = 90", main)
    assert re.search(r"param logArchiveDays int = 730", main)
    monitoring = module("monitoring.bicep")
    assert "retentionInDays: retentionDays" in monitoring and "totalRetentionInDays: archiveDays" in monitoring
    for table in ("AppTraces", "StorageTableLogs", "AzureActivity", "AzureDiagnostics"):
        assert f"'{table}'" in monitoring


def test_diagnostic_settings_cover_key_vault_storage_host_and_activity_log() -> None:
    diagnostics = module("diagnostics.bicep")
    scopes = re.findall(r"scope: (\w+)", diagnostics)
    assert set(scopes) == {"vault", "tables", "blobs", "site"}
    assert "categoryGroup: 'audit'" in diagnostics
    assert diagnostics.count("category: 'StorageWrite'") == 2 and diagnostics.count("category: 'StorageDelete'") == 2
    activity = module("activity-log.bicep")
    assert "targetScope = 'subscription'" in activity and "category: 'Administrative'" in activity
    main = code((BICEP_DIR / "main.bicep").read_text())
    assert re.search(
        r"module activityLog 'modules/activity-log.bicep' = if \(exportActivityLog\) \{"
        r"(?s:.){0,120}?scope: subscription\(\)",
        main,
    )


def test_archive_is_immutable_closed_and_out_of_the_app_identitys_reach() -> None:
    archive = module("archive.bicep")
    assert re.search(r"immutableStorageWithVersioning: \{\s*enabled: true", archive)
    assert "immutabilityPeriodSinceCreationInDays: retentionDays" in archive
    assert "allowProtectedAppendWrites: true" in archive  # diagnostic logs are append blobs
    assert "defaultAction: 'Deny'" in archive and "bypass: 'AzureServices'" in archive
    assert "allowSharedKeyAccess: false" in archive
    assert "roleAssignments" not in archive, "nobody gets a data role on the archive"


def test_basic_auth_publishing_is_off() -> None:
    bodies = resource_bodies(
        (BICEP_DIR / "modules" / "functionapp.bicep").read_text(),
        "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    )
    assert sorted(re.search(r"name: '(\w+)'", b).group(1) for b in bodies) == ["ftp", "scm"]
    assert all("allow: false" in b for b in bodies)


def test_key_vault_firewall_is_closed_unless_opened_on_purpose() -> None:
    vault = module("keyvault.bicep")
    assert "param allowPublicAccess bool = false" in vault
    assert "defaultAction: allowPublicAccess ? 'Allow' : 'Deny'" in vault


def test_azure_monitor_distro_is_pinned_and_importable() -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    assert re.search(r"^azure-monitor-opentelemetry==[\d.]+$", requirements, re.MULTILINE)
    from azure.monitor.opentelemetry import configure_azure_monitor

    assert callable(configure_azure_monitor)
