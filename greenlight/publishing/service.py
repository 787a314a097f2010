"""The publishing service: the steps of publish_orchestrator, each a method taking and returning small JSON.

Every step returns `{"ok": true, ...}` or, for a permanent failure, `{"ok": false, "error": {code, message}}`;
a transient failure (CDN or Graph outage, storage hiccup) raises `PublishFailure` so the durable retry policy
tries again with backoff. Steps are idempotent, since activities run at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from greenlight.graph.auth import MsalTokenProvider
from greenlight.graph.client import GraphClient, open_graph_client, tls_context
from greenlight.graph.errors import GraphBadRequest, GraphError
from greenlight.graph.settings import GraphSettings
from greenlight.intune.assign import Assignments, AssignmentSpec, group_name
from greenlight.intune.mapping import Win32AppPlan, app_marker, map_installer
from greenlight.intune.pipeline import inner_zip, publish_plan
from greenlight.intune.upload import Checkpoint, PublishOptions, Win32AppPublisher
from greenlight.models import PublishedApp
from greenlight.publishing.claims import Claims
from greenlight.publishing.errors import InstallerTooLarge, PublishFailure, failure_from
from greenlight.publishing.progress import Fanout, NoProgress, Progress, ProgressFactory, ThreadReporter, percent_of
from greenlight.publishing.publications import PublicationKey, PublicationRepository
from greenlight.publishing.staging import InstallerStaging, known_digest
from greenlight.storage.account import StorageAccount
from greenlight.storage.blobs import StagingArea
from greenlight.storage.errors import AlreadyExists
from greenlight.storage.published_apps import PublishedAppRepository
from greenlight.storage.requests import RequestRepository
from greenlight.winget.catalog import Catalog, get_catalog
from greenlight.winget.hashchain import VerifiedManifest
from greenlight.winget.installer_select import Requirements, choose_installer
from greenlight.winget.manifest import Installer

log = logging.getLogger(__name__)
APPS = "deviceAppManagement/mobileApps"
# Intune's documented Win32 app size limit (30 GB), used when getPublishingConstraints gives no figure.
DOCUMENTED_MAX_CONTENT_BYTES = 30 * 1000**3


@dataclass(frozen=True)
class Job:
    """The publish orchestrator's input: which publication, which attempt."""

    key: PublicationKey
    attempt: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(PublicationKey.parse(data["publication_id"]), int(data["attempt"]))

    @property
    def installer_blob(self) -> str:
        return f"{self.key.staging_prefix(self.attempt)}/installer.bin"

    @property
    def checkpoint_blob(self) -> str:
        # Beside the installer on purpose: the content keys protect content whose plaintext is already there.
        return f"{self.key.staging_prefix(self.attempt)}/upload-checkpoint.json"


@dataclass(frozen=True)
class Resolved:
    verified: VerifiedManifest
    installer: Installer
    plan: Win32AppPlan


def guarded(step: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Permanent failures become `{"ok": false, "error"}`; transient ones are raised as PublishFailure."""

    @functools.wraps(step)
    async def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await step(*args, **kwargs)
        except Exception as error:
            failure = failure_from(error)
            log.warning("%s failed: %s", step.__name__, failure)
            if failure.transient:
                raise failure from error
            return {"ok": False, "error": failure.to_json()}

    return run


@dataclass
class PublishingService:
    account: StorageAccount
    graph_settings: GraphSettings
    catalog: Callable[[], Catalog] = get_catalog
    progress_for: ProgressFactory | None = None
    publish_options: PublishOptions = field(default_factory=PublishOptions)
    staging_block_size: int = 8 * 1024 * 1024
    staging_commit_every: int = 4  # blocks per committed part of the staged installer

    def __post_init__(self) -> None:
        self.claims = Claims(
            RequestRepository(self.account),
            PublishedAppRepository(self.account),
            PublicationRepository(self.account),
            self._latest_version,
        )
        self.published = self.claims.published
        self.staging = InstallerStaging(
            StagingArea(self.account), block_size=self.staging_block_size, commit_every=self.staging_commit_every
        )
        self._tokens = MsalTokenProvider(self.graph_settings)
        self._limit: tuple[int, float] | None = None

    @classmethod
    def from_env(cls, account: StorageAccount, progress_for: ProgressFactory | None = None) -> PublishingService:
        return cls(account, GraphSettings.from_env(), progress_for=progress_for)

    # ------------------------------------------------------------------ plumbing

    def _latest_version(self, package_id: str) -> str:
        return self.catalog().verified_manifest(package_id, None).manifest.version

    @contextlib.asynccontextmanager
    async def _graph(self) -> AsyncIterator[tuple[GraphClient, httpx.AsyncClient]]:
        async with open_graph_client(self.graph_settings, self._tokens) as graph:
            verify = tls_context(self.graph_settings.ca_bundle)
            async with httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(120.0, connect=10.0)) as blob_http:
                yield graph, blob_http

    async def _sink(self, job: Job) -> Fanout:
        if self.progress_for is None:
            return Fanout([NoProgress()])
        waiters = await asyncio.to_thread(self.claims.waiters, job.key)
        return Fanout([self.progress_for(tenant, request) for tenant, request in waiters])

    def _resolve(self, key: PublicationKey) -> Resolved:
        """The signed-index chain (verified, content-cached), the installer for the arch/scope, the mapped app."""
        verified = self.catalog().verified_manifest(key.package_id, key.version)
        choice = choose_installer(verified.manifest, Requirements(architecture=key.architecture, scope=key.scope))
        return Resolved(verified, choice.installer, map_installer(verified.manifest, choice.installer))

    # ------------------------------------------------------------------ claims (synchronous table work)

    def claim_publication(self, tenant_id: str, request_id: str) -> dict[str, Any]:
        return self.claims.claim(tenant_id, request_id)

    def publication_state(self, publication_id: str) -> dict[str, Any]:
        return self.claims.state(publication_id)

    # ------------------------------------------------------------------ the steps

    @guarded
    async def verify_manifest(self, job_json: dict[str, Any]) -> dict[str, Any]:
        job = Job.from_json(job_json)
        sink = await self._sink(job)
        await sink.report(Progress("Verifying", percent_of("Verifying", 0), "Checking the signed WinGet index"))
        resolved = await asyncio.to_thread(self._resolve, job.key)
        installer, plan = resolved.installer, resolved.plan
        return {
            "ok": True,
            "summary": {
                "installer_url": installer.url,
                "installer_sha256": installer.sha256.lower(),
                "installer_type": installer.installer_type,
                "setup_file": plan.setup_file,
                "detection": plan.detection,
                "marker": plan.marker,
                "display_name": plan.body.get("displayName"),
                "manifest_sha256": resolved.verified.manifest_sha256,
                "source_version": resolved.verified.source_version,
            },
        }

    async def _max_content_bytes(self) -> int:
        """Intune's limit from getPublishingConstraints (beta), asked once an hour per process; the documented
        30 GB when Graph gives no figure."""
        cached = self._limit
        if cached is not None and time.monotonic() - cached[1] < 3600:
            return cached[0]
        async with self._graph() as (graph, _):
            limit = await self._ask_max_content_bytes(graph)
        self._limit = (limit, time.monotonic())
        return limit

    async def _ask_max_content_bytes(self, graph: GraphClient) -> int:
        try:
            answer = await graph.get(f"{APPS}/getPublishingConstraints()")
        except GraphError as error:
            if error.status in (400, 404, 405, 501):
                return DOCUMENTED_MAX_CONTENT_BYTES
            raise
        value = (answer.get("win32LobAppConstraints") or {}).get("maxContentFileSizeInBytes")
        return int(value) if isinstance(value, int) and value > 0 else DOCUMENTED_MAX_CONTENT_BYTES

    @guarded
    async def download_installer(self, job_json: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
        job = Job.from_json(job_json)
        limit = await self._max_content_bytes()
        resolved = await asyncio.to_thread(self._resolve, job.key)
        catalog = self.catalog()
        if catalog.chain is None:
            raise PublishFailure("catalog_unavailable", "the catalog has no CDN client to download with")
        client = catalog.chain.client
        reporter = ThreadReporter(
            await self._sink(job), asyncio.get_running_loop(), "Downloading", "Downloading the installer"
        )

        @contextlib.contextmanager
        def open_from(offset: int) -> Any:
            with client.open_installer(
                summary["installer_url"],
                package_id=job.key.package_id,
                allowed_hosts=catalog.installer_hosts,
                offset=offset,
            ) as (response, skip):
                length = response.headers.get("content-length")
                total = int(length) + offset - skip if length and length.isdigit() else None
                if total is not None and total > limit:
                    raise InstallerTooLarge(job.key.package_id, total, limit)
                yield response.iter_bytes(1024 * 1024), skip, total

        def progress(done: int, total: int | None) -> None:
            if total:
                reporter.fraction(done / total)

        staged = await asyncio.to_thread(
            self.staging.download,
            job.installer_blob,
            open_from,
            expected_sha256=summary["installer_sha256"],
            package_id=job.key.package_id,
            max_bytes=limit,
            on_progress=progress,
            archive_for=lambda size: inner_zip(resolved.plan, size),
        )
        log.info(
            "staged %s: %d bytes (resumed from %d, fetched %d)",
            staged.blob,
            staged.size,
            staged.resumed_from,
            staged.fetched,
        )
        return {"ok": True, "staged": staged.to_json()}

    @guarded
    async def package_and_upload(self, job_json: dict[str, Any], staged: dict[str, Any]) -> dict[str, Any]:
        job = Job.from_json(job_json)
        resolved = await asyncio.to_thread(self._resolve, job.key)
        loop = asyncio.get_running_loop()
        reporter = ThreadReporter(await self._sink(job), loop, "Uploading", "Packaging and uploading to Intune")
        size = int(staged["size"])
        read = [0]

        def on_read(count: int) -> None:
            read[0] += count
            reporter.fraction(read[0] / size if size else 1.0)

        async def save(checkpoint: Checkpoint) -> None:
            await asyncio.to_thread(self.staging.save_checkpoint, job.checkpoint_blob, checkpoint)

        checkpoint = await asyncio.to_thread(self.staging.load_checkpoint, job.checkpoint_blob)
        async with self._graph() as (graph, blob_http):
            publisher = Win32AppPublisher(graph, blob_http, self.publish_options, on_checkpoint=save)

            async def attempt(start: Checkpoint | None) -> Any:
                read[0] = 0
                return await publish_plan(
                    publisher,
                    resolved.plan,
                    lambda: self.staging.reader(staged["blob"], on_read),
                    size,
                    crc32=int(staged["crc32"]),
                    known=known_digest(staged),
                    checkpoint=start,
                )

            try:
                result = await attempt(checkpoint)
            except GraphBadRequest as error:
                # Intune refuses new content versions on an app whose first one never committed: recreate it.
                app = await publisher.find_app(resolved.plan.marker)
                if app is None or app.get("committedContentVersion"):
                    raise
                log.warning("app %s refuses new content (%s); recreating it", app["id"], error)
                await publisher.discard_app(app["id"])
                result = await attempt(None)
        return {"ok": True, "app_id": result.app_id, "content_version_id": result.content_version_id}

    @guarded
    async def create_assignment(self, job_json: dict[str, Any], app_id: str) -> dict[str, Any]:
        job = Job.from_json(job_json)
        key = job.key
        sink = await self._sink(job)
        await sink.report(Progress("Assigning", percent_of("Assigning", 0), "Assigning the app"))
        async with self._graph() as (graph, _):
            assignments = Assignments(graph)
            group = await assignments.ensure_group(group_name(key.package_id, key.version, key.architecture))
            await assignments.assign(app_id, AssignmentSpec(group["id"], intent="required"))
        return {"ok": True, "group_id": group["id"]}

    @guarded
    async def record_published(self, job_json: dict[str, Any], app_id: str, group_id: str, sha256: str) -> dict:
        job = Job.from_json(job_json)
        key = job.key
        row = PublishedApp(key.package_id, key.version, key.architecture, key.scope, app_id, group_id, sha256)

        def record() -> None:
            try:
                self.published.record(row)
            except AlreadyExists:
                pass  # a re-run of this step after its first run recorded it
            self.claims.finish(key, job.attempt, app_id=app_id, group_id=group_id)

        await asyncio.to_thread(record)
        sink = await self._sink(job)
        # The publication is done, the request not yet: its workflow still grants access (then "Done", 100 %).
        await sink.report(Progress("Assigning", percent_of("Assigning", 1), "Published to Intune"))
        return {"ok": True}

    @guarded
    async def cleanup(self, job_json: dict[str, Any], failed: bool) -> dict[str, Any]:
        """Delete the staged installer and checkpoint; after a failure also an app whose content never committed."""
        job = Job.from_json(job_json)
        discarded = None
        if failed:
            resolved_marker = await asyncio.to_thread(self._marker, job.key)
            async with self._graph() as (graph, blob_http):
                publisher = Win32AppPublisher(graph, blob_http, self.publish_options)
                app = await publisher.find_app(resolved_marker)
                if app is not None and not app.get("committedContentVersion"):
                    await publisher.discard_app(app["id"])
                    discarded = app["id"]
        await asyncio.to_thread(self.staging.delete, job.installer_blob, job.checkpoint_blob)
        return {"ok": True, "discarded_app": discarded}

    def _marker(self, key: PublicationKey) -> str:
        try:
            return self._resolve(key).plan.marker
        except Exception:  # noqa: BLE001 - the chain is down or broken: the marker the mapping would give
            return app_marker(key.package_id, key.version, key.architecture, key.scope)

    async def mark_failed(self, job_json: dict[str, Any], error: dict[str, str]) -> dict[str, Any]:
        job = Job.from_json(job_json)
        await asyncio.to_thread(self.claims.finish, job.key, job.attempt, error=error)
        return {"ok": True}

    async def grant_access(self, tenant_id: str, request_id: str, group_id: str) -> dict[str, Any]:
        request = await asyncio.to_thread(lambda: self.claims.requests.get(tenant_id, request_id).value)
        async with self._graph() as (graph, _):
            added = await Assignments(graph).add_member(group_id, request.requester_oid)
        return {"added": added}
