"""The whole publish flow against the Graph sandbox with every fault switch on: throttling (429 + Retry-After),
503s, connections dropped mid-block, SAS URLs that expire during the upload, and a commit that fails once.
The sandbox decrypts the uploaded blob at commit and checks MAC, size and digest, as Intune does."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import httpx
import pytest

from greenlight.graph.client import GraphClient
from greenlight.intune.assign import Assignments, AssignmentSpec, group_name
from greenlight.intune.blocks import BlockUploader
from greenlight.intune.builder import ContentBuild, member_from_stream
from greenlight.intune.crypto import ContentKeys, EncryptionInfo
from greenlight.intune.errors import ContentSourceError
from greenlight.intune.upload import Checkpoint, GraphSas, PublishOptions, Win32AppPublisher
from greenlight.intune.zipstream import StoredZip

# 200 MiB as the issue asks; generated on the fly, never held in memory or written to disk.
INSTALLER_SIZE = 200 * 1024 * 1024
MARKER = "[Greenlight|Example.Big|1.0.0|x64|machine]"
BODY = {
    "@odata.type": "#microsoft.graph.win32LobApp",
    "displayName": "Example Big 1.0.0",
    "publisher": "Example",
    "description": "A 200 MiB generated installer",
    "notes": f"Published by Greenlight. {MARKER}",
    "fileName": "IntunePackage.intunewin",
    "setupFilePath": "big-setup.exe",
    "installCommandLine": '"big-setup.exe" /S',
    "uninstallCommandLine": '"big-setup.exe" /uninstall /S',
    "rules": [
        {
            "@odata.type": "#microsoft.graph.win32LobAppRegistryRule",
            "ruleType": "detection",
            "check32BitOn64System": False,
            "keyPath": r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Example.Big",
            "valueName": "DisplayVersion",
            "operationType": "version",
            "operator": "greaterThanOrEqual",
            "comparisonValue": "1.0.0",
        }
    ],
}
ALL_FAULTS = {
    "throttle_every": 9,
    "retry_after_seconds": 1,
    "unavailable_every": 13,
    "drop_block_every": 7,
    "sas_lifetime_seconds": 4,
    # Each Put Block waits 1 s, so the resumed upload (about 23 blocks, 4 in flight) outlives a SAS of 4 s however
    # fast the client streams: the renewals this test checks happen on any machine.
    "block_delay_seconds": 1.0,
    "commit_fail_once": True,
}


class GeneratedInstaller(io.RawIOBase):
    """`size` bytes of SHA-256 counter-mode output: incompressible, reproducible, produced as it is read."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self._remaining = size
        self._counter = 0
        self._fail_after = fail_after
        self._served = 0
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._fail_after is not None and self._served >= self._fail_after:
            raise OSError("staging blob read failed (simulated)")
        n = self._remaining if n < 0 else min(n, self._remaining)
        while len(self._buffer) < n:
            seed = hashlib.sha256(self._counter.to_bytes(8, "little")).digest()
            self._buffer += seed * 2048  # 64 KiB per counter value
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        self._remaining -= n
        self._served += n
        return out


def _builder(size: int, fail_after: int | None = None):
    def make(keys: ContentKeys) -> ContentBuild:
        member = member_from_stream("big-setup.exe", size, lambda: GeneratedInstaller(size, fail_after))
        return ContentBuild(StoredZip([member]), keys)

    return make


def _options() -> PublishOptions:
    return PublishOptions(poll_interval=0.1, in_flight=4, renew_margin=dt.timedelta(seconds=1), timeout=120)


def _counts(state: dict[str, Any]) -> tuple[int, int, int, int, int]:
    (app,) = state["apps"] if len(state["apps"]) == 1 else (None,)
    assert app is not None, f"expected exactly one app, found {len(state['apps'])}"
    files = [f for cv in app["contentVersions"] for f in cv["files"]]
    members = sum(len(g["members"]) for g in state["groups"])
    return len(state["apps"]), len(app["contentVersions"]), len(files), len(app["assignments"]), members


@pytest.mark.slow
async def test_publish_with_every_fault_on_creates_exactly_one_verified_app(
    graph: GraphClient, blob_http: httpx.AsyncClient, sandbox_control: Any
) -> None:
    sandbox_control.faults(**ALL_FAULTS)
    saved: list[Checkpoint] = []

    async def remember(checkpoint: Checkpoint) -> None:
        saved.append(checkpoint)

    publisher = Win32AppPublisher(graph, blob_http, _options(), on_checkpoint=remember)

    # Attempt 1 dies part-way (the installer stream breaks after 90 MiB), as a crashed activity would.
    with pytest.raises((ContentSourceError, OSError)):
        await publisher.publish(BODY, MARKER, _builder(INSTALLER_SIZE, fail_after=90 * 1024 * 1024))
    assert saved, "the first attempt must have recorded its checkpoint"

    # Attempt 2 resumes from the checkpoint; attempt 3 runs again after success: neither duplicates anything.
    result = await publisher.publish(BODY, MARKER, _builder(INSTALLER_SIZE), saved[-1])
    again = await publisher.publish(BODY, MARKER, _builder(INSTALLER_SIZE), saved[-1])
    assert (again.app_id, again.content_version_id, again.file_id) == (
        result.app_id,
        result.content_version_id,
        result.file_id,
    )
    assert result.stats.blocks_reused > 0, "the resumed upload must reuse blocks sent before the crash"
    assert again.stats.blocks_uploaded == 0

    assignments = Assignments(graph)
    name = group_name("Example.Big", "1.0.0", "x64")
    for _ in range(2):  # a retried assignment step
        group = await assignments.ensure_group(name)
        await assignments.assign(result.app_id, AssignmentSpec(group["id"], intent="required"))
        await assignments.add_member(group["id"], "8f0f3c1e-1111-2222-3333-444455556666")

    state = sandbox_control.state()
    assert _counts(state) == (1, 1, 1, 1, 1)
    assert [g["displayName"] for g in state["groups"]] == [name]
    app = state["apps"][0]
    assert app["publishingState"] == "published" and app["committedContentVersion"] == result.content_version_id
    commits = state["commits"]
    assert commits[0] == {"file": result.file_id, "ok": False, "failure": "sandbox fault: commit fails once"}
    assert commits[-1]["ok"] is True and all(c["ok"] for c in commits[1:])
    faults = state["faults"]
    assert faults["calls"] >= ALL_FAULTS["throttle_every"] and faults["blocks"] >= ALL_FAULTS["drop_block_every"]
    assert result.stats.renewals > 0 and result.stats.retries > 0


async def test_content_that_does_not_match_its_encryption_info_fails_commit(
    graph: GraphClient, blob_http: httpx.AsyncClient, sandbox_control: Any
) -> None:
    publisher = Win32AppPublisher(graph, blob_http, _options())
    build = _builder(3 * 1024 * 1024)(ContentKeys.generate())
    app = await publisher.ensure_app(BODY, MARKER, None)
    version, content_file = await publisher.ensure_content_file(app, Checkpoint(build.keys), build)
    content = f"deviceAppManagement/mobileApps/{app['id']}/microsoft.graph.win32LobApp/contentVersions"
    path = f"{content}/{version}/files/{content_file['id']}"
    state = await publisher._poll("SAS", lambda: graph.get(path), lambda f: bool(f.get("azureStorageUri")))
    info = await BlockUploader(blob_http, GraphSas(publisher, path, state), block_size=1024 * 1024).upload(build)
    wrong = EncryptionInfo.from_graph(info.to_graph() | {"fileDigest": "A" * 43 + "="})
    await graph.post(f"{path}/commit", {"fileEncryptionInfo": wrong.to_graph()})
    result = await publisher._poll(
        "commit", lambda: graph.get(path), lambda f: f["uploadState"] in {"commitFileSuccess", "commitFileFailed"}
    )
    assert result["uploadState"] == "commitFileFailed"
    assert sandbox_control.state()["commits"][-1]["failure"].startswith("digest-mismatch")


async def test_paging_follows_next_links(graph: GraphClient) -> None:
    for index in range(5):
        await graph.post("deviceAppManagement/mobileApps", BODY | {"displayName": f"App {index}"})
    names = [a["displayName"] async for a in graph.paged("deviceAppManagement/mobileApps", params={"$top": "2"})]
    assert names == [f"App {i}" for i in range(5)]


async def test_discarding_a_half_created_app_removes_it_once(graph: GraphClient, blob_http: httpx.AsyncClient) -> None:
    publisher = Win32AppPublisher(graph, blob_http, _options())
    app = await publisher.ensure_app(BODY, MARKER, None)
    await publisher.discard_app(app["id"])
    await publisher.discard_app(app["id"])  # a retried clean-up is harmless
    assert await publisher.find_app(MARKER) is None
