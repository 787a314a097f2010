"""Publishing on the real parts: Azurite (tables, staging blobs), the sandbox's WinGet CDN and Graph/Intune.

Each test gets its own Intune tenant in the sandbox (state and fault switches are per tenant) and starts from
empty Publications/PublishedApps rows for the packages it publishes (those tables are per package, not tenant)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenlight.intune.upload import PublishOptions
from greenlight.models import RequestStatus
from greenlight.publishing import Progress, PublishingService
from greenlight.storage import RequestRepository, StorageAccount
from greenlight.storage.account import PUBLICATIONS_TABLE, PUBLISHED_APPS_TABLE
from greenlight.storage.blobs import STAGING_CONTAINER
from greenlight.winget.catalog import Catalog, open_catalog
from greenlight.winget.settings import SANDBOX_ROOT_NAME, WingetSettings
from tests.support.builders import a_request, sandbox_graph_settings
from tests.support.sandbox_tenant import SandboxTenant

SEVEN_ZIP = ("7zip.7zip", "26.03")
SIZED = ("Greenlight.Sized6M", "1.0.0")


@dataclass
class RecordingSink:
    reports: list[Progress] = field(default_factory=list)

    async def report(self, progress: Progress) -> None:
        self.reports.append(progress)


@pytest.fixture(scope="session")
def account(azurite) -> StorageAccount:
    return StorageAccount.from_connection_string(azurite.connection_string)


@pytest.fixture(scope="session")
def catalogs(sandbox, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Catalog]:
    """variant -> a verified catalog of that sandbox CDN variant (opened once per session)."""
    opened: dict[str, Catalog] = {}
    env = {
        "GREENLIGHT_ENV": "local",
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
    }

    def get(variant: str = "good") -> Catalog:
        if variant not in opened:
            base = sandbox.winget_url + ("" if variant == "good" else f"/v/{variant}")
            cache = tmp_path_factory.mktemp(f"publish-cache-{variant}")
            settings = WingetSettings.from_env(
                {**env, "GREENLIGHT_WINGET_SOURCE_URL": base, "GREENLIGHT_WINGET_CACHE_DIR": str(cache)}
            )
            opened[variant] = open_catalog(settings)
        return opened[variant]

    return get


def _clear(account: StorageAccount, package_ids: tuple[str, ...]) -> None:
    for table in (PUBLICATIONS_TABLE, PUBLISHED_APPS_TABLE):
        client = account.table(table)
        for package_id in package_ids:
            for entity in client.query_entities("PartitionKey eq @p", parameters={"p": package_id}):
                client.delete_entity(entity["PartitionKey"], entity["RowKey"])
    container = account.container(STAGING_CONTAINER)
    for blob in container.list_blobs(name_starts_with="publications/"):
        container.delete_blob(blob.name)


@dataclass
class World:
    """One test's view: its tenant, service, requests and the sandbox's control endpoints."""

    sandbox: Any
    account: StorageAccount
    tenant_id: str
    service: PublishingService
    sinks: dict[str, RecordingSink]

    def request(self, package: tuple[str, str] = SEVEN_ZIP, **changes: Any) -> str:
        request = a_request(
            tenant_id=self.tenant_id,
            package_id=package[0],
            package_version=package[1],
            status=RequestStatus.APPROVED,
            **changes,
        )
        RequestRepository(self.account).create(request)
        return request.request_id

    def requester(self, request_id: str) -> str:
        return RequestRepository(self.account).get(self.tenant_id, request_id).value.requester_oid

    def graph_faults(self, **switches: Any) -> None:
        SandboxTenant(self.sandbox, self.tenant_id).faults(**switches)

    def intune(self) -> dict[str, Any]:
        return SandboxTenant(self.sandbox, self.tenant_id).state()

    def cdn_faults(self, **switches: Any) -> None:
        url = f"{self.sandbox.winget_url}/_sandbox/faults"
        httpx.post(url, json=switches, verify=str(self.sandbox.ca_file)).raise_for_status()

    def cdn_served(self) -> list[dict[str, Any]]:
        url = f"{self.sandbox.winget_url}/_sandbox/served"
        return httpx.get(url, verify=str(self.sandbox.ca_file)).json()["served"]

    def staged_blobs(self) -> list[str]:
        container = self.account.container(STAGING_CONTAINER)
        return [b.name for b in container.list_blobs(name_starts_with="publications/")]


def make_service(world_args: dict[str, Any], variant: str = "good", **options: Any) -> PublishingService:
    return PublishingService(
        world_args["account"],
        world_args["graph_settings"],
        catalog=lambda: world_args["catalogs"](variant),  # opened at first use: a broken source fails there
        progress_for=lambda tenant, request: world_args["sinks"].setdefault(request, RecordingSink()),
        publish_options=PublishOptions(
            poll_interval=0.1, timeout=60, block_size=1024 * 1024, renew_margin=dt.timedelta(seconds=1)
        ),
        staging_block_size=1024 * 1024,
        staging_commit_every=1,
        **options,
    )


@pytest.fixture
def world_factory(sandbox, account, catalogs, tmp_path: Path) -> Callable[..., World]:
    """world(variant="good") -> a World whose service reads that CDN variant."""
    tenant_id = str(uuid.uuid4())
    _clear(account, (SEVEN_ZIP[0], SIZED[0]))
    sinks: dict[str, RecordingSink] = {}
    args = {
        "account": account,
        "catalogs": catalogs,
        "sinks": sinks,
        "graph_settings": sandbox_graph_settings(
            sandbox, tenant_id=tenant_id, client_id="greenlight-tests", max_attempts=10
        ),
    }

    def world(variant: str = "good") -> World:
        return World(sandbox, account, tenant_id, make_service(args, variant), sinks)

    return world


@pytest.fixture
def world(world_factory) -> World:
    return world_factory()
