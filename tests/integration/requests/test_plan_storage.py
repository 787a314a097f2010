"""The request row's approval plan on Azurite: the largest plan a policy can give (every stage at the bound of
approvers, the escalation list too) is stored across `Plan`, `Plan1`… and reads back intact; a row written with a
single `Plan` column still reads."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest

from greenlight.models import Request, RequestStatus
from greenlight.policy import MAX_APPROVERS_PER_STAGE, ApprovalPlan, parse_policy, plan_for
from greenlight.policy.model import MAX_NAME, MAX_STAGES
from greenlight.requests import rules
from greenlight.storage import RequestRepository, StorageAccount
from greenlight.storage.account import REQUESTS_TABLE
from greenlight.storage.columns import ENTITY_LIMIT_BYTES, PART_CHARS, entity_bytes
from greenlight.storage.requests import to_entity
from tests.support.builders import a_request
from tests.support.fakes import DictDirectory


@pytest.fixture
def account(azurite) -> StorageAccount:
    return StorageAccount.from_connection_string(azurite.connection_string)


def people(count: int) -> set[str]:
    return {str(uuid.uuid4()) for _ in range(count)}


async def largest_plan(requester: str) -> dict:
    """10 stages of 100 approvers each, 100 escalation approvers, stage names of 80 emoji (12 characters each
    in the JSON: the longest a name can be stored)."""
    groups = [str(uuid.uuid4()) for _ in range(MAX_STAGES + 1)]
    directory = DictDirectory(members={g: people(MAX_APPROVERS_PER_STAGE) for g in groups})
    stages = [{"name": chr(0x1F600 + n) * MAX_NAME, "approvers": {"groups": [g]}, "rule": "all"}
              for n, g in enumerate(groups[:-1])]  # fmt: skip
    document = {"stages": stages, "escalate_after_hours": 24, "escalate_to": {"groups": [groups[-1]]},
                "reminder_hours": 8, "expire_after_days": 30}  # fmt: skip
    plan = await plan_for(a_request(requester_oid=requester), parse_policy(document), directory)
    return plan.to_json()


def the_longest_request(plan: dict) -> Request:
    """Every free-text column at its limit, in characters that take the most room."""
    return dataclasses.replace(
        a_request(status=RequestStatus.PENDING_APPROVAL),
        requester_name="É" * rules.NAME_MAX,
        justification="😀" * rules.JUSTIFICATION_MAX,
        error="é" * 300,
        error_code="too_many_approvers",
        progress={"stage": "Approval", "percent": 15, "message": "Stage 10 of 10: " + "😀" * MAX_NAME},
        submitted_by=str(uuid.uuid4()),
        fingerprint="ab" * 32,
        plan=plan,
        escalated=True,
    )


async def test_the_largest_plan_is_split_across_columns_and_round_trips(account) -> None:
    request = the_longest_request(await largest_plan(str(uuid.uuid4())))
    text = json.dumps(request.plan, separators=(",", ":"))
    assert len(text) > 32_000  # one column could not hold it
    entity = to_entity(request)
    parts = [name for name in entity if name.startswith("Plan")]
    assert parts == ["Plan"] + [f"Plan{n}" for n in range(1, -(-len(text) // PART_CHARS))]
    assert all(len(entity[p].encode("utf-16-le")) // 2 <= PART_CHARS for p in parts)
    assert entity_bytes(entity) < ENTITY_LIMIT_BYTES // 4  # far under the 1 MiB entity limit

    repository = RequestRepository(account)
    repository.create(request)
    read = repository.get(request.tenant_id, request.request_id).value
    assert read == request
    assert ApprovalPlan.from_json(read.plan).to_json() == request.plan
    assert [len(s["approvers"]) for s in read.plan["stages"]] == [MAX_APPROVERS_PER_STAGE] * MAX_STAGES

    # A smaller plan replaces the row: no stale part is left to be joined onto it.
    small = {**request.plan, "stages": request.plan["stages"][:1], "escalation": []}
    repository.modify(request.tenant_id, request.request_id, lambda r: dataclasses.replace(r, plan=small))
    raw = account.table(REQUESTS_TABLE).get_entity(request.tenant_id, request.request_id)
    assert "Plan1" not in raw and repository.get(request.tenant_id, request.request_id).value.plan == small


async def test_a_row_with_the_plan_in_one_column_still_reads(account) -> None:
    request = a_request()
    plan = {"outcome": "approval", "stages": [{"index": 0, "name": "Manager", "rule": "any", "approvers": ["m"],
            "source": "manager"}], "escalation": [], "timing": {}, "reason": "stages: Manager"}  # fmt: skip
    legacy = {**to_entity(request), "Plan": json.dumps(plan, separators=(",", ":"))}  # as the code before wrote it
    account.table(REQUESTS_TABLE).create_entity(legacy)
    assert RequestRepository(account).get(request.tenant_id, request.request_id).value.plan == plan
