"""The Graph sandbox keeps Intune's state on disk: a restarted sandbox still knows the apps, files and groups it
had, so a PublishedApps row never points at an app the sandbox forgot (make run keeps the state under .local/)."""

from __future__ import annotations

import uuid
from pathlib import Path

from greenlight.graph.client import open_graph_client
from greenlight.graph.urls import DIRECTORY_API
from greenlight.intune.assign import Assignments
from scripts.localstack import free_port, start_sandbox
from tests.support.builders import sandbox_graph_settings

BODY = {
    "@odata.type": "#microsoft.graph.win32LobApp",
    "displayName": "Kept 1.0",
    "publisher": "Greenlight",
    "description": "survives a restart",
    "notes": "[Greenlight|Kept|1.0|x64|machine]",
    "fileName": "IntunePackage.intunewin",
    "setupFilePath": "kept.exe",
    "installCommandLine": '"kept.exe" /S',
    "uninstallCommandLine": '"kept.exe" /uninstall /S',
    "rules": [
        {
            "@odata.type": "#microsoft.graph.win32LobAppRegistryRule",
            "ruleType": "detection",
            "check32BitOn64System": False,
            "keyPath": r"HKEY_LOCAL_MACHINE\SOFTWARE\Kept",
            "valueName": "DisplayVersion",
            "operationType": "version",
            "operator": "greaterThanOrEqual",
            "comparisonValue": "1.0",
        }
    ],
}


async def test_a_restarted_sandbox_still_has_its_apps_and_groups(tmp_path: Path) -> None:
    port = free_port()
    tenant_id = str(uuid.uuid4())
    process, endpoints = start_sandbox(tmp_path / "logs1", tmp_path / "state", port=port)
    try:
        settings = sandbox_graph_settings(endpoints, tenant_id=tenant_id, client_id="state-test", max_attempts=3)
        async with open_graph_client(settings) as graph:
            app = await graph.post("deviceAppManagement/mobileApps", BODY)
            group = await Assignments(graph).ensure_group("Greenlight-Kept-1.0-x64")
            await Assignments(graph).add_member(group["id"], "00000000-0000-0000-0000-00000000000a")
    finally:
        process.kill()  # no orderly shutdown: the state must already be on disk

    process, endpoints = start_sandbox(tmp_path / "logs2", tmp_path / "state", port=port)
    try:
        async with open_graph_client(settings) as graph:
            again = await graph.get(f"deviceAppManagement/mobileApps/{app['id']}")
            found = await Assignments(graph).find_group("Greenlight-Kept-1.0-x64")
            members = [m["id"] async for m in graph.paged(f"groups/{group['id']}/members", version=DIRECTORY_API)]
    finally:
        process.stop()
    assert again["displayName"] == "Kept 1.0" and again["notes"] == BODY["notes"]
    assert found is not None and found["id"] == group["id"]
    assert members == ["00000000-0000-0000-0000-00000000000a"]
