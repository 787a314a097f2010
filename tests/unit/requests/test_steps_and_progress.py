"""The workflow's steps (idempotent, the row arbitrates) and the throttled progress sink."""

from __future__ import annotations

from greenlight.models import Decision, RequestStatus, Verdict
from greenlight.requests import Progress, RequestProgress
from greenlight.requests.devices import architecture_from
from tests.support.builders import a_request
from tests.unit.requests.conftest import ALICE, BOB, CAROL, TENANT, World


async def test_with_no_policy_one_stage_of_the_configured_approvers_is_opened_and_its_cards_sent(
    world: World,
) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.SUBMITTED)
    world.requests.create(request)
    plan = await world.steps.plan_approval(TENANT, request.request_id)
    assert plan["outcome"] == "approval" and [s["approvers"] for s in plan["stages"]] == [[BOB, CAROL]]
    assert [s["rule"] for s in plan["stages"]] == ["any"]
    opened = await world.steps.open_stage(TENANT, request.request_id, 0)
    assert opened == {"status": "PendingApproval", "stage": 0, "approvers": [BOB, CAROL]}
    assert world.notifier.statuses[-1][0] == "PendingApproval"
    assert world.requests.get(TENANT, request.request_id).value.plan == plan  # kept for the doors


async def test_planning_does_not_reopen_a_cancelled_request(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.CANCELLED)
    world.requests.create(request)
    assert (await world.steps.plan_approval(TENANT, request.request_id))["outcome"] == "closed"
    assert (await world.steps.open_stage(TENANT, request.request_id, 0))["status"] == "Cancelled"
    assert world.notifier.sent == []


async def test_decision_of_reads_the_recorded_decision_and_none_for_another_stage(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE)
    world.requests.create(request)
    world.decisions.settle(Decision(request.request_id, 0, BOB, "Bob", Verdict.REJECTED))  # a row from before
    assert (await world.steps.decision_of(TENANT, request.request_id, 1))["verdict"] is None
    outcome = await world.steps.decision_of(TENANT, request.request_id, 0)
    assert outcome == {"verdict": "rejected", "status": "Rejected"}
    assert [d.approver_oid for d in world.notifier.decisions] == [BOB]


async def test_set_status_follows_the_lifecycle_and_audits_completion_once(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.APPROVED)
    world.requests.create(request)
    for status in (RequestStatus.PUBLISHING, RequestStatus.PUBLISHED, RequestStatus.COMPLETED, RequestStatus.COMPLETED):
        assert (await world.steps.set_status(TENANT, request.request_id, status, app_id="app-1"))["ok"]
    assert world.audit.actions() == ["request.completed"]
    refused = await world.steps.set_status(TENANT, request.request_id, RequestStatus.PUBLISHING)
    assert refused == {"ok": False, "status": "Completed"}


async def test_a_cancel_that_landed_first_makes_publishing_a_no_op(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.CANCELLED)
    world.requests.create(request)
    assert await world.steps.set_status(TENANT, request.request_id, RequestStatus.PUBLISHING) == {
        "ok": False,
        "status": "Cancelled",
    }


async def test_failure_records_code_and_message(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.PUBLISHING)
    world.requests.create(request)
    error = {"code": "installer_hash_mismatch", "message": "the installer was altered"}
    await world.steps.set_status(TENANT, request.request_id, RequestStatus.FAILED, error=error)
    stored = world.requests.get(TENANT, request.request_id).value
    assert (stored.error_code, stored.error) == ("installer_hash_mismatch", "the installer was altered")
    assert world.audit.actions() == ["request.failed"]


async def test_progress_is_throttled_by_step_and_interval(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.PUBLISHING)
    world.requests.create(request)
    now = [0.0]
    sink = RequestProgress(world.requests, world.notifier, TENANT, request.request_id, clock=lambda: now[0])
    reports = [
        (0.0, "Downloading", 20), (0.5, "Downloading", 25), (1.0, "Downloading", 35), (4.0, "Downloading", 36),
        (5.0, "Downloading", 46), (5.5, "Uploading", 50), (9.0, "Uploading", 51), (9.1, "Done", 100),
    ]  # fmt: skip
    for at, stage, percent in reports:
        now[0] = at
        await sink.report(Progress(stage, percent, f"{stage} {percent}"))
    shown = [p.percent for _, p in world.notifier.statuses]
    assert shown == [20, 36, 51, 100]  # 25: <10 points; 35, 46: too soon; 50: a new stage, too soon; 100 always
    assert world.requests.get(TENANT, request.request_id).value.progress["percent"] == 100


async def test_a_late_progress_report_never_rewrites_a_finished_request(world: World) -> None:
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, status=RequestStatus.FAILED)
    world.requests.create(request)
    await RequestProgress(world.requests, world.notifier, TENANT, request.request_id).report(Progress("X", 5, "late"))
    assert world.requests.get(TENANT, request.request_id).value.progress is None


def test_architecture_is_the_most_common_among_windows_devices() -> None:
    def device(os_name: str, arch: str) -> dict:
        return {"operatingSystem": os_name, "processorArchitecture": arch}

    assert architecture_from([]) == "x64"
    assert architecture_from([device("macOS", "arm64"), device("iOS", "arm64")]) == "x64"
    assert architecture_from([device("Windows", "arm64")]) == "arm64"
    assert architecture_from([device("Windows", "x86"), device("Windows", "x86"), device("Windows", "x64")]) == "x86"
    assert architecture_from([device("Windows", "arm64"), device("Windows", "x64")]) == "x64"  # tie → x64
    assert architecture_from([device("Windows", "unknown"), device("windows", "ARM64")]) == "arm64"
