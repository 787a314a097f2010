"""submit_request: one id scheme, one set of limits, idempotent retries, crash repair, workflow start."""

from __future__ import annotations

import dataclasses

import pytest

from greenlight.models import RequestStatus
from greenlight.requests import (
    IdempotencyKeyReused,
    InvalidInput,
    SubmitRequest,
    UnknownPackage,
    WorkflowUnavailable,
    request_id_for,
)
from greenlight.requests.rules import JUSTIFICATION_MAX
from tests.unit.requests.conftest import ADMIN, ALICE, TENANT, World


def command(**changes) -> SubmitRequest:
    base = SubmitRequest(
        tenant_id=TENANT,
        caller_oid=ALICE,
        requester_oid=ALICE,
        requester_name="Alice",
        package_id="7zip.7zip",
        justification="unpack  customer\narchives",
        client_key="form-1",
        via="teams",
    )
    return dataclasses.replace(base, **changes)


async def test_a_submit_creates_a_submitted_request_audits_it_and_starts_the_workflow(world: World) -> None:
    submission = await world.service.submit_request(command(), world.workflow)
    request = submission.request
    assert submission.created and request.status is RequestStatus.SUBMITTED
    assert request.request_id == request_id_for(TENANT, ALICE, "form-1")
    assert (request.package_version, request.justification) == ("26.03", "unpack customer archives")
    assert world.audit.actions() == ["request.submitted"]
    assert world.workflow.calls == [("start", request.request_id)]


async def test_the_architecture_comes_from_the_devices_unless_named(world: World) -> None:
    derived = (await world.service.submit_request(command(), world.workflow)).request
    named = (await world.service.submit_request(command(client_key="k2", architecture="x86"), world.workflow)).request
    assert (derived.architecture, named.architecture) == ("arm64", "x86")
    assert world.devices.asked == [ALICE]


async def test_a_retry_with_the_same_key_returns_the_same_request_and_audits_once(world: World) -> None:
    first = await world.service.submit_request(command(), world.workflow)
    again = await world.service.submit_request(command(), world.workflow)
    assert not again.created and again.request.request_id == first.request.request_id
    assert len(world.requests.rows) == 1 and world.audit.actions() == ["request.submitted"]


async def test_the_same_key_with_any_other_value_is_refused_naming_the_key(world: World) -> None:
    await world.service.submit_request(command(), world.workflow)
    for change in (
        {"package_id": "7zip.7zip", "package_version": "24.09"},
        {"justification": "something else"},
        {"architecture": "x64"},
        {"scope": "user"},
        {"requester_oid": "someone-else"},
    ):
        with pytest.raises(IdempotencyKeyReused, match="form-1"):
            await world.service.submit_request(command(**change), world.workflow)


async def test_keys_are_scoped_to_the_caller(world: World) -> None:
    mine = await world.service.submit_request(command(), world.workflow)
    for_alice_by_admin = await world.service.submit_request(command(caller_oid=ADMIN), world.workflow)
    assert mine.request.request_id != for_alice_by_admin.request.request_id
    assert for_alice_by_admin.request.submitted_by == ADMIN and for_alice_by_admin.request.requester_oid == ALICE


async def test_without_a_key_every_submit_is_a_new_request(world: World) -> None:
    a = await world.service.submit_request(command(client_key=None), world.workflow)
    b = await world.service.submit_request(command(client_key=None), world.workflow)
    assert a.request.request_id != b.request.request_id


async def test_a_crash_between_the_row_and_its_audit_entry_is_repaired_by_the_retry(world: World) -> None:
    world.audit.fail_next = True
    with pytest.raises(ConnectionError):
        await world.service.submit_request(command(), world.workflow)
    assert len(world.requests.rows) == 1 and world.audit.actions() == [] and world.workflow.calls == []
    retried = await world.service.submit_request(command(), world.workflow)
    await world.service.submit_request(command(), world.workflow)
    assert not retried.created
    assert world.audit.actions() == ["request.submitted"]
    assert world.workflow.calls[0] == ("start", retried.request.request_id)


async def test_a_failed_start_leaves_the_request_submitted_and_the_retry_starts_it(world: World) -> None:
    world.workflow.fail = True
    with pytest.raises(WorkflowUnavailable):
        await world.service.submit_request(command(), world.workflow)
    ((stored, _),) = world.requests.rows.values()
    assert stored.status is RequestStatus.SUBMITTED
    world.workflow.fail = False
    await world.service.submit_request(command(), world.workflow)
    assert world.workflow.calls == [("start", stored.request_id)]


async def test_an_unknown_package_or_version_is_named(world: World) -> None:
    with pytest.raises(UnknownPackage, match=r"no\.such"):
        await world.service.submit_request(command(package_id="no.such"), world.workflow)
    with pytest.raises(UnknownPackage, match=r"7zip\.7zip 1\.0"):
        await world.service.submit_request(command(package_version="1.0"), world.workflow)
    assert world.requests.rows == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"package_id": "7zip.7zip\n"}, "package_id"),
        ({"package_id": "../etc"}, "package_id"),
        ({"package_version": "1.0\n"}, "package_version"),
        ({"justification": "   "}, "justification"),
        ({"justification": "x" * (JUSTIFICATION_MAX + 1)}, "justification"),
        ({"justification": "bell \x07"}, "justification"),
        ({"justification": "half \ud800 a pair"}, "justification"),
        ({"architecture": "mips"}, "architecture"),
        ({"scope": "galaxy"}, "scope"),
        ({"client_key": "x" * 201}, "Idempotency-Key"),
        ({"client_key": "caf\u00e9"}, "Idempotency-Key"),
        ({"requester_name": "nul\x00"}, "requester name"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world: World, change, field) -> None:
    with pytest.raises(InvalidInput) as raised:
        await world.service.submit_request(command(**change), world.workflow)
    assert raised.value.field == field
    assert world.requests.rows == {} and world.catalog.lookups == 0
