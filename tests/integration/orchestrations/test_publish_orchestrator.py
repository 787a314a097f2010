"""publish_orchestrator through devhost (a process, the real durable SDK, Azurite, the sandbox): a publication
that succeeds, one that meets a tampered installer, and one whose host is SIGKILLed mid-download and again
mid-upload, then restarted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenlight.models import RequestStatus
from greenlight.storage import RequestRepository, StorageAccount
from greenlight.storage.account import PUBLICATIONS_TABLE, PUBLISHED_APPS_TABLE
from greenlight.storage.blobs import STAGING_CONTAINER
from greenlight.winget.settings import SANDBOX_ROOT_NAME
from scripts.localstack import ManagedProcess, start_devhost
from tests.support.builders import a_request

APP = "tests.integration.orchestrations.publish_app:app"
STATUS = "runtime/webhooks/durabletask/instances"


def _wait(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    """devhost processes (started and killed by the test) over one tenant, CDN variant and task hub."""

    def __init__(self, azurite, sandbox, tmp_path: Path, variant: str) -> None:
        self.sandbox = sandbox
        self.tmp_path = tmp_path
        self.tenant_id = str(uuid.uuid4())
        self.account = StorageAccount.from_connection_string(azurite.connection_string)
        self.progress_log = tmp_path / "progress.jsonl"
        base = sandbox.winget_url + ("" if variant == "good" else f"/v/{variant}")
        self.env = {
            "AzureWebJobsStorage": azurite.connection_string,
            "DEVHOST_TASK_HUB": f"Pub{uuid.uuid4().hex[:8]}",
            "GREENLIGHT_ENV": "local",
            "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string,
            "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
            "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
            "GREENLIGHT_TENANT_ID": self.tenant_id,
            "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
            "GREENLIGHT_WINGET_SOURCE_URL": base,
            "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path / "winget-cache"),
            "PUBLISH_TEST_PROGRESS_LOG": str(self.progress_log),
        }
        self.processes: list[ManagedProcess] = []
        self.url = ""

    def launch(self) -> None:
        process, self.url = start_devhost(self.tmp_path / f"logs{len(self.processes)}", self.env, app=APP)
        self.processes.append(process)

    def kill(self) -> None:
        self.processes[-1].kill()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def clear(self, package_id: str) -> None:
        for table in (PUBLICATIONS_TABLE, PUBLISHED_APPS_TABLE):
            client = self.account.table(table)
            for entity in client.query_entities("PartitionKey eq @p", parameters={"p": package_id}):
                client.delete_entity(entity["PartitionKey"], entity["RowKey"])

    def start(self, package_id: str, version: str) -> dict[str, Any]:
        request = a_request(
            tenant_id=self.tenant_id, package_id=package_id, package_version=version, status=RequestStatus.APPROVED
        )
        RequestRepository(self.account).create(request)
        response = httpx.post(f"{self.url}/api/publish/{self.tenant_id}/{request.request_id}", timeout=30)
        response.raise_for_status()
        claim = response.json()
        assert claim["outcome"] == "owner", claim
        return claim

    def status(self, instance_id: str) -> dict[str, Any]:
        return httpx.get(f"{self.url}/{STATUS}/{instance_id}", timeout=10).json()

    def activity_events(self, instance_id: str, name: str) -> list[str]:
        """The history's event types for activity `name` (TaskCompleted / TaskFailed)."""
        body = httpx.get(f"{self.url}/{STATUS}/{instance_id}?showHistory=true", timeout=10).json()
        return [e["EventType"] for e in body["historyEvents"] if e.get("FunctionName") == name]

    def finished(self, instance_id: str, timeout: float = 90) -> dict[str, Any]:
        done = {"Completed", "Failed", "Terminated"}
        return _wait(
            lambda: (s := self.status(instance_id)) and s.get("runtimeStatus") in done and s,
            timeout,
            f"{instance_id} to finish",
        )

    def intune(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.sandbox.graph_url}/_sandbox/state",
            params={"tenant": self.tenant_id},
            verify=str(self.sandbox.ca_file),
        )
        return response.json()

    def graph_faults(self, **switches: Any) -> None:
        httpx.post(
            f"{self.sandbox.graph_url}/_sandbox/faults",
            json={"tenant": self.tenant_id, **switches},
            verify=str(self.sandbox.ca_file),
        ).raise_for_status()

    def cdn(self, path: str, body: Any = None) -> Any:
        url = f"{self.sandbox.winget_url}/_sandbox/{path}"
        verify = str(self.sandbox.ca_file)
        response = httpx.post(url, json=body, verify=verify) if body is not None else httpx.get(url, verify=verify)
        response.raise_for_status()
        return response.json()

    def staged(self) -> list[str]:
        container = self.account.container(STAGING_CONTAINER)
        return [b.name for b in container.list_blobs(name_starts_with="publications/")]

    def progress(self) -> list[dict[str, Any]]:
        if not self.progress_log.exists():
            return []
        return [json.loads(line) for line in self.progress_log.read_text().splitlines()]


@pytest.fixture
def stack_factory(azurite, sandbox, tmp_path: Path) -> Iterator[Callable[[str], Stack]]:
    stacks: list[Stack] = []

    def make(variant: str = "good") -> Stack:
        stack = Stack(azurite, sandbox, tmp_path / f"stack{len(stacks)}", variant)
        stack.tmp_path.mkdir(parents=True)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    httpx.post(f"{sandbox.winget_url}/_sandbox/faults", json={}, verify=str(sandbox.ca_file))


def test_publish_orchestrator_publishes_7zip_once(stack_factory) -> None:
    stack = stack_factory()
    stack.clear("7zip.7zip")
    stack.launch()

    claim = stack.start("7zip.7zip", "26.03")
    status = stack.finished(claim["instance_id"])

    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["ok"] is True
    (app,) = stack.intune()["apps"]
    assert app["id"] == output["app_id"] and len(app["assignments"]) == 1
    last = stack.progress()[-1]
    assert (last["stage"], last["percent"]) == ("Assigning", 95)  # "Done" is the request's, after grant_access
    assert stack.staged() == []


def test_a_tampered_installer_ends_the_orchestration_with_its_named_error_and_nothing_in_intune(
    stack_factory,
) -> None:
    stack = stack_factory("installer")
    stack.clear("7zip.7zip")
    stack.launch()

    claim = stack.start("7zip.7zip", "26.03")
    status = stack.finished(claim["instance_id"])

    assert status["runtimeStatus"] == "Completed"  # an expected failure is a result, not a crash
    assert status["output"]["ok"] is False
    assert status["output"]["error"]["code"] == "installer_hash_mismatch"
    assert stack.activity_events(claim["instance_id"], "download_installer") == ["TaskCompleted"]  # not retried
    assert stack.intune()["apps"] == []
    assert stack.staged() == []


def test_a_cdn_outage_mid_download_is_retried_by_the_durable_policy_and_resumes(stack_factory) -> None:
    stack = stack_factory()
    stack.clear("Greenlight.Sized6M")
    stack.cdn("faults", {"drop_installer_after": 3 * 1024 * 1024 + 1000})  # the connection drops once
    served_before = len(stack.cdn("served")["served"])
    stack.launch()

    claim = stack.start("Greenlight.Sized6M", "1.0.0")
    status = stack.finished(claim["instance_id"], timeout=120)

    assert status["runtimeStatus"] == "Completed" and status["output"]["ok"] is True, status
    assert stack.activity_events(claim["instance_id"], "download_installer") == ["TaskFailed", "TaskCompleted"]
    requests = [r for r in stack.cdn("served")["served"][served_before:] if "Sized6M" in r["path"]]
    assert [r["start"] for r in requests] == [0, 3 * 1024 * 1024]  # the retry asked only for the rest


def test_sigkill_during_download_and_again_during_upload_still_publishes_one_app(stack_factory) -> None:
    stack = stack_factory()
    stack.clear("Greenlight.Sized6M")
    stack.cdn("faults", {"installer_bytes_per_second": 2 * 1024 * 1024})
    stack.graph_faults(block_delay_seconds=0.4)
    served_before = len(stack.cdn("served")["served"])
    stack.launch()
    claim = stack.start("Greenlight.Sized6M", "1.0.0")

    # Crash 1: while the installer streams into staging (some parts already committed).
    _wait(lambda: any(n.endswith("installer.bin") for n in stack.staged()), 30, "a committed part of the installer")
    stack.kill()
    stack.cdn("faults", {})
    stack.launch()

    # Crash 2: while blocks go up to Intune (the checkpoint is saved beside the installer).
    def uploading() -> bool:
        files = [f for a in stack.intune()["apps"] for cv in a["contentVersions"] for f in cv["files"]]
        checkpoint = any(n.endswith("upload-checkpoint.json") for n in stack.staged())
        return bool(files) and files[0]["uploadState"] == "azureStorageUriRequestSuccess" and checkpoint

    _wait(uploading, 60, "the upload to start")
    time.sleep(1.0)
    stack.kill()
    stack.graph_faults()
    stack.launch()

    status = stack.finished(claim["instance_id"], timeout=120)
    assert status["runtimeStatus"] == "Completed" and status["output"]["ok"] is True, status
    state = stack.intune()
    (app,) = state["apps"]
    assert len(app["contentVersions"]) == 1 and len(app["contentVersions"][0]["files"]) == 1
    assert app["publishingState"] == "published" and [c["ok"] for c in state["commits"]] == [True]
    installer_requests = [r for r in stack.cdn("served")["served"][served_before:] if "Sized6M" in r["path"]]
    assert installer_requests[0]["start"] == 0
    assert any(r["start"] > 0 for r in installer_requests[1:]), installer_requests  # resumed with Range
    assert stack.staged() == []
