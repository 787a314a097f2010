"""The repositories the application layer added or moved, on Azurite: requester cards, audit-once, the new
Request columns, and the managedDevices lookup against the sandbox's Graph."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from greenlight.graph.client import open_graph_client
from greenlight.models import CardAddress, RequestStatus
from greenlight.requests.devices import IntuneDevices
from greenlight.storage import AuditLog, RequesterCardRepository, RequestRepository, StorageAccount
from tests.support.builders import a_request, sandbox_graph_settings

ALEX = "4c1e8f3a-7b2d-4e6f-9a01-2b3c4d5e6f70"
MEGAN = "8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21"
ISAIAH = "5e7f9a1b-3c5d-4e6f-a8b0-c2d4e6f8a093"


@pytest.fixture
def account(azurite) -> StorageAccount:
    return StorageAccount.from_connection_string(azurite.connection_string)


def test_requester_cards_are_stored_replaced_and_read(account) -> None:
    cards = RequesterCardRepository(account)
    request_id, oid = uuid.uuid4().hex, str(uuid.uuid4())
    assert cards.get(request_id, oid) is None
    cards.put(request_id, oid, CardAddress("t", "a:1", "act-1", "https://smba.trafficmanager.net/teams/"))
    cards.put(request_id, oid, CardAddress("t", "a:1", "act-2", "https://smba.trafficmanager.net/teams/"))
    assert cards.get(request_id, oid) == CardAddress("t", "a:1", "act-2", "https://smba.trafficmanager.net/teams/")


def test_append_once_writes_one_entry_however_many_times_and_threads_try(account) -> None:
    audit, entity = AuditLog(account), f"request/{uuid.uuid4().hex}"
    when = dt.datetime.now(dt.UTC)
    with ThreadPoolExecutor(max_workers=6) as pool:
        wrote = list(
            pool.map(lambda _: audit.append_once(entity + "|x", when, "a", "request.submitted", entity), range(6))
        )
    assert wrote.count(True) == 1
    entries = [e for e in audit.list_month(when.strftime("%Y%m"), 200).items if e.entity == entity]
    assert len(entries) == 1 and entries[0].occurred_at == when


def test_the_workflow_columns_round_trip(account) -> None:
    repository = RequestRepository(account)
    request = dataclasses.replace(
        a_request(status=RequestStatus.FAILED),
        error="the installer was altered",
        error_code="installer_hash_mismatch",
        progress={"stage": "Uploading", "percent": None, "message": "block 3"},
        submitted_by="oid-admin",
        fingerprint="ab" * 32,
    )
    repository.create(request)
    read = repository.get(request.tenant_id, request.request_id).value
    assert (read.error_code, read.progress, read.submitted_by, read.fingerprint) == (
        "installer_hash_mismatch",
        {"stage": "Uploading", "percent": None, "message": "block 3"},
        "oid-admin",
        "ab" * 32,
    )


async def test_architecture_comes_from_the_users_managed_devices_in_the_sandbox(sandbox) -> None:
    settings = sandbox_graph_settings(sandbox, tenant_id=str(uuid.uuid4()), client_id="greenlight-test", max_attempts=2)
    devices = IntuneDevices(lambda: open_graph_client(settings), timeout_seconds=30)
    tenant = settings.tenant_id
    assert await devices.architecture_of(tenant, ALEX) == "x64"  # one x64 laptop
    assert await devices.architecture_of(tenant, MEGAN) == "arm64"  # an arm64 Surface (and an iPhone)
    assert await devices.architecture_of(tenant, ISAIAH) == "x64"  # only a Mac: the default
    assert await devices.architecture_of(tenant, str(uuid.uuid4())) == "x64"  # no devices at all


async def test_a_failed_device_lookup_falls_back_to_x64(sandbox) -> None:
    settings = dataclasses.replace(
        sandbox_graph_settings(sandbox, tenant_id=str(uuid.uuid4()), client_id="x", max_attempts=1),
        graph_url="https://127.0.0.1:9/graph",
    )
    devices = IntuneDevices(lambda: open_graph_client(settings), timeout_seconds=5)
    assert await devices.architecture_of(settings.tenant_id, ALEX) == "x64"
