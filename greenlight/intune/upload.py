"""Publish a win32LobApp through Graph: app → content version → file → SAS → blocks → commit → publish.

Idempotent and resumable, so a retried activity never duplicates anything (format reference §2.4):
- the app is found by the marker in its `notes` before one is created (and after a POST whose answer was lost);
- an app's uncommitted content version and its file are reused instead of creating new ones;
- blocks already on the blob for the same content keys are not sent again (see blocks.py), so the caller keeps
  the `ContentKeys` of an attempt (the `Checkpoint`) to resume it; new keys simply mean a fresh upload;
- commit is repeated when Intune reports commitFileFailed (it can be transient), at most `commit_attempts` times.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphNotFound, GraphTransportError
from greenlight.graph.urls import odata_quote
from greenlight.intune.blocks import BLOCK_SIZE, BlockUploader, UploadStats
from greenlight.intune.builder import ContentBuild
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.detection_xml import PACKAGE_FILE_NAME
from greenlight.intune.errors import UploadError

log = logging.getLogger(__name__)
APPS = "deviceAppManagement/mobileApps"
FRESH_SAS_GRACE = dt.timedelta(seconds=30)
FRESH_SAS_WAITS = 4  # 0.5 + 1 + 2 + 4 s, then renew after all
CAST = "microsoft.graph.win32LobApp"


@dataclass(frozen=True, repr=False)
class Checkpoint:
    """What a caller persists between attempts (keys are secret: store them encrypted, never log them)."""

    keys: ContentKeys
    app_id: str | None = None
    content_version_id: str | None = None
    file_id: str | None = None

    def __repr__(self) -> str:
        return f"Checkpoint(app={self.app_id}, cv={self.content_version_id}, file={self.file_id})"


@dataclass(frozen=True)
class PublishedApp:
    app_id: str
    content_version_id: str
    file_id: str
    stats: UploadStats = field(compare=False)


@dataclass(frozen=True)
class PublishOptions:
    poll_interval: float = 5.0
    timeout: float = 1800.0
    block_size: int = BLOCK_SIZE
    in_flight: int = 4
    renew_margin: dt.timedelta = dt.timedelta(minutes=2)
    commit_attempts: int = 3


def _parse_time(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Win32AppPublisher:
    def __init__(
        self,
        graph: GraphClient,
        blob_http: httpx.AsyncClient,
        options: PublishOptions | None = None,
        *,
        on_checkpoint: Callable[[Checkpoint], Awaitable[None]] | None = None,
    ) -> None:
        self.graph = graph
        self._blob_http = blob_http
        self.options = options or PublishOptions()
        self._on_checkpoint = on_checkpoint

    async def _save(self, checkpoint: Checkpoint) -> Checkpoint:
        if self._on_checkpoint is not None:
            await self._on_checkpoint(checkpoint)
        return checkpoint

    async def _poll(self, what: str, probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.timeout
        while True:
            value = await probe()
            if done(value):
                return value
            if loop.time() > deadline:
                raise UploadError(f"timed out waiting for {what}")
            await asyncio.sleep(self.options.poll_interval)

    # ---------------------------------------------------------------- app

    async def find_app(self, marker: str) -> dict[str, Any] | None:
        params = {"$filter": f"isof('{CAST}') and contains(notes,{odata_quote(marker)})"}
        async for app in self.graph.paged(APPS, params=params):
            if marker in (app.get("notes") or ""):
                return app
        return None

    async def ensure_app(self, body: dict[str, Any], marker: str, app_id: str | None) -> dict[str, Any]:
        if marker not in (body.get("notes") or ""):
            raise UploadError("the app body's notes must carry the Greenlight marker (it is how retries find it)")
        if app_id:
            try:
                return await self.graph.get(f"{APPS}/{app_id}")
            except GraphNotFound:
                log.info("app %s from the checkpoint is gone; looking it up by marker", app_id)
        existing = await self.find_app(marker)
        if existing is not None:
            return existing
        try:
            created = await self.graph.post(APPS, body)
        except GraphTransportError:
            # The POST may have reached Graph: look before trying again, so the app exists once.
            existing = await self.find_app(marker)
            if existing is not None:
                return existing
            created = await self.graph.post(APPS, body)
        assert created is not None
        return created

    async def discard_app(self, app_id: str) -> None:
        """Delete a half-created app after an unrecoverable failure (as WinTuner does). Not done automatically:
        while a retry may still resume the upload, the app and its uploaded blocks are worth keeping."""
        try:
            await self.graph.delete(f"{APPS}/{app_id}")
        except GraphNotFound:
            return

    # ---------------------------------------------------------------- content version and file

    def _content(self, app_id: str) -> str:
        return f"{APPS}/{app_id}/{CAST}/contentVersions"

    async def ensure_content_file(
        self, app: dict[str, Any], checkpoint: Checkpoint, build: ContentBuild
    ) -> tuple[str, dict[str, Any]]:
        content = self._content(app["id"])
        versions = [v["id"] async for v in self.graph.paged(content)]
        committed = app.get("committedContentVersion")
        if committed in versions:
            # Already published: the app is one (package, version, arch, scope), so its committed content of the
            # same sizes is this content — a retry after success changes nothing.
            async for existing in self.graph.paged(f"{content}/{committed}/files"):
                if (
                    existing.get("uploadState") == "commitFileSuccess"
                    and existing.get("size") == build.unencrypted_size
                ):
                    return committed, existing
        candidates = [v for v in versions if v != committed]
        if checkpoint.content_version_id in candidates:
            candidates.remove(checkpoint.content_version_id)
            candidates.append(checkpoint.content_version_id)  # prefer the checkpoint's version
        for version in reversed(candidates):
            files = [f async for f in self.graph.paged(f"{content}/{version}/files")]
            reusable = [
                f
                for f in files
                if f.get("sizeEncrypted") == build.encrypted_size
                and f.get("size") == build.unencrypted_size
                and f.get("uploadState") not in {"azureStorageUriRequestFailed", "azureStorageUriRequestTimedOut"}
            ]
            if reusable:
                preferred = [f for f in reusable if f["id"] == checkpoint.file_id] or reusable
                return version, preferred[0]
            if not files:
                return version, await self._create_file(content, version, build)
        created = await self.graph.post(content, {})
        assert created is not None
        return created["id"], await self._create_file(content, created["id"], build)

    async def _create_file(self, content: str, version: str, build: ContentBuild) -> dict[str, Any]:
        body = {
            "@odata.type": "#microsoft.graph.mobileAppContentFile",
            "name": PACKAGE_FILE_NAME,
            "size": build.unencrypted_size,
            "sizeEncrypted": build.encrypted_size,
            "manifest": None,
            "isDependency": False,
        }
        created = await self.graph.post(f"{content}/{version}/files", body)
        assert created is not None
        return created

    # ---------------------------------------------------------------- publish

    async def publish(
        self,
        body: dict[str, Any],
        marker: str,
        make_build: Callable[[ContentKeys], ContentBuild],
        checkpoint: Checkpoint | None = None,
    ) -> PublishedApp:
        """Run (or resume) the whole flow; returns once the app is `published`."""
        checkpoint = checkpoint or Checkpoint(ContentKeys.generate())
        app = await self.ensure_app(body, marker, checkpoint.app_id)
        checkpoint = await self._save(replace(checkpoint, app_id=app["id"]))
        build = make_build(checkpoint.keys)
        version, content_file = await self.ensure_content_file(app, checkpoint, build)
        checkpoint = await self._save(replace(checkpoint, content_version_id=version, file_id=content_file["id"]))
        file_path = f"{self._content(app['id'])}/{version}/files/{content_file['id']}"
        stats = UploadStats()
        if content_file.get("uploadState") != "commitFileSuccess":
            stats = await self._upload_and_commit(file_path, build)
        if app.get("committedContentVersion") != version:
            await self.graph.patch(
                f"{APPS}/{app['id']}",
                {"@odata.type": "#microsoft.graph.win32LobApp", "committedContentVersion": version},
            )
        await self._poll(
            "publishingState published",
            lambda: self.graph.get(f"{APPS}/{app['id']}"),
            lambda value: value.get("publishingState") == "published",
        )
        return PublishedApp(app["id"], version, content_file["id"], stats)

    async def _upload_and_commit(self, file_path: str, build: ContentBuild) -> UploadStats:
        state = await self._poll(
            "the SAS URL",
            lambda: self.graph.get(file_path),
            lambda f: f.get("uploadState") not in {"azureStorageUriRequestPending", "azureStorageUriRenewalPending"},
        )
        if state.get("uploadState") in {"azureStorageUriRequestFailed", "azureStorageUriRequestTimedOut"}:
            raise UploadError(f"Intune could not allocate storage: {state['uploadState']}", state=state["uploadState"])
        sas = GraphSas(self, file_path, state)
        if state.get("uploadState") == "commitFileFailed" or not state.get("azureStorageUri"):
            await sas.renew(state.get("azureStorageUri") or "")
        uploader = BlockUploader(
            self._blob_http,
            sas,
            block_size=self.options.block_size,
            in_flight=self.options.in_flight,
            renew_margin=self.options.renew_margin,
        )
        info = await uploader.upload(build)
        for attempt in range(1, self.options.commit_attempts + 1):
            await self.graph.post(f"{file_path}/commit", {"fileEncryptionInfo": info.to_graph()})
            result = await self._poll(
                "the commit",
                lambda: self.graph.get(file_path),
                lambda f: f.get("uploadState") in {"commitFileSuccess", "commitFileFailed", "commitFileTimedOut"},
            )
            if result["uploadState"] == "commitFileSuccess":
                return uploader.stats
            log.warning("commit attempt %d ended in %s", attempt, result["uploadState"])
        raise UploadError(
            f"Intune rejected the content {self.options.commit_attempts} times", state=result["uploadState"]
        )


def _https(url: str) -> str:
    """Content only ever goes to an https SAS URL (Intune's are https://*.blob.core.windows.net)."""
    if url and not url.startswith("https://"):
        raise UploadError("Intune returned a non-https storage URL; refusing to upload content to it")
    return url


class GraphSas:
    """SAS URL of one content file; renewUpload through Graph when it is about to expire or was refused."""

    def __init__(self, publisher: Win32AppPublisher, file_path: str, state: dict[str, Any]) -> None:
        self._publisher = publisher
        self._file_path = file_path
        self._url = _https(state.get("azureStorageUri") or "")
        self._expires = _parse_time(state.get("azureStorageUriExpirationDateTime"))
        self._issued = dt.datetime.now(dt.UTC)
        self._fresh_waits = 0
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[str, dt.datetime]:
        return self._url, self._expires

    def _refused_while_fresh(self, stale_url: str) -> bool:
        """Intune quirk: a SAS URL can answer 403 for a few seconds after it is issued. A refusal of a fresh,
        unexpired URL is waited out (a few times, with backoff) instead of renewing it into another fresh one."""
        now = dt.datetime.now(dt.UTC)
        return (
            stale_url == self._url
            and now - self._issued < FRESH_SAS_GRACE
            and self._expires - now > self._publisher.options.renew_margin
            and self._fresh_waits < FRESH_SAS_WAITS
        )

    async def renew(self, stale_url: str) -> tuple[str, dt.datetime]:
        async with self._lock:
            if stale_url != self._url and self._expires > dt.datetime.now(dt.UTC):
                return self._url, self._expires  # another block already renewed it
            if self._refused_while_fresh(stale_url):
                await asyncio.sleep(0.5 * 2**self._fresh_waits)
                self._fresh_waits += 1
                return self._url, self._expires
            graph = self._publisher.graph
            await graph.post(f"{self._file_path}/renewUpload", None)
            state = await self._publisher._poll(
                "the renewed SAS URL",
                lambda: graph.get(self._file_path),
                lambda f: f.get("uploadState") != "azureStorageUriRenewalPending",
            )
            if state.get("uploadState") != "azureStorageUriRenewalSuccess":
                raise UploadError(f"SAS renewal ended in {state.get('uploadState')}", state=state.get("uploadState"))
            self._url = _https(state["azureStorageUri"])
            self._expires = _parse_time(state.get("azureStorageUriExpirationDateTime"))
            self._issued = dt.datetime.now(dt.UTC)
            self._fresh_waits = 0
            return self._url, self._expires
