"""request_orchestrator following approval policies on devhost: the real PolicyService (policies on Azurite, the
directory on the sandbox's Graph, whose tenant holds the Playground's org), the virtual clock for reminders,
escalation and expiry (days pass in milliseconds), and the recording notifier at the seam."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from devhost.durable.state import RuntimeStatus
from greenlight.models import Policy, RequestStatus, Verdict
from greenlight.policy import MAX_APPROVERS_PER_STAGE
from greenlight.policy.admin import canonical
from greenlight.policy.model import MAX_STAGES
from greenlight.requests import DecideRequest, NotAllowed, SubmitRequest
from greenlight.requests.workflow import instance_id_for
from greenlight.storage import AuditLog, PolicyRepository
from sandbox.graph.directory import ADELE, ALEX, ISAIAH, IT_APPROVERS_GROUP, LYNNE, MEGAN, PATTI
from tests.integration.devhost.conftest import events_of
from tests.integration.requests.conftest import Workflows, sandbox_policies
from tests.support.sandbox_tenant import SandboxTenant

TWO_STAGES: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True, "users": [LYNNE]}},  # Lynne: when there is no manager
        {"name": "IT Approvers", "approvers": {"groups": [IT_APPROVERS_GROUP]}, "rule": "all"},
    ],
}


def save_policy(w: Workflows, document: dict[str, Any], package: str = "7zip.7zip") -> None:
    PolicyRepository(w.services.account).create(Policy(w.tenant, package, canonical(document)))


async def submit(w: Workflows, key: str = "k1") -> str:
    command = SubmitRequest(w.tenant, ALEX, ALEX, "Alex Wilber", "7zip.7zip", "needs it", client_key=key)
    request_id = (await w.services.service.submit_request(command, w.workflow())).request.request_id
    await w.host.settle()
    return request_id


async def decide(w: Workflows, request_id: str, oid: str, verdict: Verdict = Verdict.APPROVED):
    return await w.services.service.record_decision(
        DecideRequest(w.tenant, request_id, oid, oid[:8], verdict, ""), w.workflow()
    )


def row(w: Workflows, request_id: str):
    return w.services.requests.get(w.tenant, request_id).value


async def test_the_manager_then_every_it_approver_and_it_is_published(workflows: Workflows) -> None:
    w = workflows
    save_policy(w, TWO_STAGES)
    request_id = await submit(w)
    assert w.notifier.cards == [(0, MEGAN)]  # stage 1: only the manager is asked
    assert row(w, request_id).plan["stages"][1]["approvers"] == sorted([ADELE, ISAIAH])  # nested group read
    with pytest.raises(NotAllowed):
        await decide(w, request_id, ADELE)
    await decide(w, request_id, MEGAN)
    await w.host.settle()
    assert (row(w, request_id).status, row(w, request_id).stage) == (RequestStatus.PENDING_APPROVAL, 1)
    assert sorted(w.notifier.cards[1:]) == sorted([(1, ADELE), (1, ISAIAH)])
    assert [d.stage for d in w.notifier.decisions] == [0]  # stage 1's cards updated when it completed
    first = await decide(w, request_id, ISAIAH)
    await w.host.settle()
    assert first.settled is None and row(w, request_id).status is RequestStatus.PENDING_APPROVAL
    await decide(w, request_id, ADELE)
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Completed"
    assert [(d.stage, d.approver_oid) for d in w.notifier.decisions] == [(0, MEGAN), (1, ADELE)]
    assert row(w, request_id).status is RequestStatus.COMPLETED


async def test_reminders_then_escalation_then_expiry_on_the_virtual_clock(workflows: Workflows) -> None:
    w = workflows
    policy = {"stages": [{"name": "Manager", "approvers": {"manager": True}}], "reminder_hours": 24,
              "escalate_after_hours": 48, "escalate_to": {"users": [PATTI]}, "expire_after_days": 4}  # fmt: skip
    save_policy(w, policy)
    request_id = await submit(w)
    await w.host.run_timers(timedelta(hours=24))
    assert w.notifier.reminders == [(0, MEGAN)] and w.notifier.cards == [(0, MEGAN)]
    await w.host.run_timers(timedelta(hours=24))  # 48 h: a reminder to Megan, then the stage goes to Patti
    assert w.notifier.reminders == [(0, MEGAN)] * 2 and w.notifier.cards == [(0, MEGAN), (0, PATTI)]
    assert row(w, request_id).escalated
    await w.host.run_timers(timedelta(hours=24))  # 72 h: both are reminded
    assert w.notifier.reminders[2:] == [(0, MEGAN), (0, PATTI)]
    await w.host.run_timers(timedelta(days=2))  # 96 h: expired
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Expired"
    assert row(w, request_id).status is RequestStatus.EXPIRED
    assert w.notifier.statuses[-1][0] == "Expired"  # the requester is told (and the cards lose their buttons)
    month = row(w, request_id).updated_at.strftime("%Y%m")
    actions = [e.action for e in AuditLog(w.services.account).list_month(month, 200).items
               if e.entity == f"request/{request_id}"]  # fmt: skip
    assert "request.expired" in actions


async def test_an_escalation_approver_decides_the_stage_once_escalated(workflows: Workflows) -> None:
    w = workflows
    save_policy(w, {**TWO_STAGES, "escalate_after_hours": 24, "escalate_to": {"users": [PATTI]}})
    request_id = await submit(w)
    with pytest.raises(NotAllowed):
        await decide(w, request_id, PATTI)
    await w.host.run_timers(timedelta(hours=25))
    await decide(w, request_id, PATTI)
    await w.host.settle()
    assert row(w, request_id).stage == 1 and not row(w, request_id).escalated
    with pytest.raises(NotAllowed):  # the IT stage is not escalated yet
        await decide(w, request_id, PATTI)


async def test_a_long_expiry_waits_in_timers_of_at_most_six_days(workflows: Workflows) -> None:
    w = workflows
    save_policy(w, {**TWO_STAGES, "expire_after_days": 14})
    request_id = await submit(w)
    await w.host.run_timers(timedelta(days=15))
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Expired"
    timers = [(_at(e["Timestamp"]), _at(e["FireAt"])) for e in events_of(done, "TIMER_CREATED")]
    assert len(timers) >= 3 and all(fire - created <= timedelta(days=6) for created, fire in timers)


async def test_a_lasting_directory_outage_fails_the_request_and_never_approves(workflows: Workflows, sandbox) -> None:
    w = workflows
    graph_tenant = str(uuid.uuid4())  # its own sandbox tenant, so the fault touches nothing else
    httpx.post(f"{sandbox.graph_url}/_sandbox/faults", json={"tenant": graph_tenant, "unavailable_every": 1},
               verify=str(sandbox.ca_file)).raise_for_status()  # fmt: skip
    steps = w.services.steps
    previous, steps.policies = steps.policies, sandbox_policies(w.services.account, sandbox, [], graph_tenant)
    try:
        save_policy(w, TWO_STAGES)
        request_id = await submit(w)
        await w.host.run_timers(timedelta(hours=2))  # the plan's retries, minutes apart
        done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    finally:
        steps.policies = previous
    assert json.loads(done.output) == "Failed"
    request = row(w, request_id)
    assert (request.status, request.error_code) == (RequestStatus.FAILED, "directory_unavailable")
    assert w.notifier.cards == [] and len(events_of(done, "TASK_FAILED")) == 6  # every attempt, then closed


async def test_a_policy_blocked_after_the_request_fails_it_at_planning(workflows: Workflows) -> None:
    w = workflows
    command = SubmitRequest(w.tenant, ALEX, ALEX, "Alex", "7zip.7zip", "needs it", client_key="b")

    class NotYet:  # the request is stored, its workflow not yet started
        async def start(self, *_):
            raise RuntimeError("later")

    with pytest.raises(Exception, match="retry"):
        await w.services.service.submit_request(command, NotYet())  # type: ignore[arg-type]
    save_policy(w, {"blocked": True})
    request_id = (await w.services.service.submit_request(command, w.workflow())).request.request_id
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Failed" and row(w, request_id).error_code == "blocked"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.rstrip("Z")[:26] + "+00:00")


async def test_a_cancel_in_the_second_stage_ends_the_workflow_at_once(workflows: Workflows) -> None:
    w = workflows
    save_policy(w, TWO_STAGES)
    request_id = await submit(w)
    await decide(w, request_id, MEGAN)
    await w.host.settle()
    await w.services.service.cancel_request(w.tenant, request_id, ALEX, is_admin=False, workflow=w.workflow())
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)  # no timer had to fire
    assert json.loads(done.output) == "Cancelled" and row(w, request_id).status is RequestStatus.CANCELLED
    assert not events_of(done, "TIMER_FIRED")


@contextlib.contextmanager
def big_groups(w: Workflows, sandbox, sizes: list[int]) -> Iterator[list[str]]:
    """Groups of these many members in a sandbox Graph tenant of their own, which the workflow's planning reads
    while the block runs (the workflow's usual policy service comes back after it)."""
    graph = SandboxTenant(sandbox, str(uuid.uuid4()))
    groups = [{"id": str(uuid.uuid4()), "displayName": f"Group of {size}",
               "members": [str(uuid.uuid4()) for _ in range(size)]} for size in sizes]  # fmt: skip
    graph.org(managers={ALEX: MEGAN}, groups=groups)
    previous = w.services.steps.policies
    w.services.steps.policies = sandbox_policies(w.services.account, sandbox, [], graph.tenant_id)
    try:
        yield [g["id"] for g in groups]
    finally:
        w.services.steps.policies = previous


async def test_a_stage_naming_a_group_over_the_bound_fails_the_request_with_what_to_do(
    workflows: Workflows, sandbox
) -> None:
    w = workflows
    with big_groups(w, sandbox, [150]) as (everyone,):
        save_policy(w, {"stages": [{"name": "Manager", "approvers": {"manager": True, "users": [LYNNE]}},
                                   {"name": "Everyone", "approvers": {"groups": [everyone]}}]})  # fmt: skip
        request_id = await submit(w)
        done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Failed"
    request = row(w, request_id)
    assert (request.status, request.error_code, request.plan) == (RequestStatus.FAILED, "too_many_approvers", None)
    assert request.error == (
        "stage 2 (Everyone) would ask 150 people, over the limit of 100: name a smaller group (or fewer users) "
        "for this stage in the package's approval policy"
    )
    assert w.notifier.cards == [] and not events_of(done, "TASK_FAILED")  # at once: no retries, nobody asked
    assert w.notifier.statuses[-1][0] == "Failed"  # the requester is told


async def test_the_largest_plan_is_kept_on_the_row_and_its_first_stage_asks_everyone(
    workflows: Workflows, sandbox
) -> None:
    w = workflows
    with big_groups(w, sandbox, [MAX_APPROVERS_PER_STAGE] * (MAX_STAGES + 1)) as (*stages, escalation):
        save_policy(w, {"stages": [{"name": f"Stage {n}", "approvers": {"groups": [g]}} for n, g in enumerate(stages)],
                        "escalate_after_hours": 24, "escalate_to": {"groups": [escalation]}})  # fmt: skip
        request_id = await submit(w)
    plan = row(w, request_id).plan
    assert len(json.dumps(plan)) > 32_000  # more than one Table column holds
    assert [len(s["approvers"]) for s in plan["stages"]] == [MAX_APPROVERS_PER_STAGE] * MAX_STAGES
    assert len(plan["escalation"]) == MAX_APPROVERS_PER_STAGE
    assert row(w, request_id).status is RequestStatus.PENDING_APPROVAL
    assert sorted(oid for _, oid in w.notifier.cards) == plan["stages"][0]["approvers"]
