"""Evaluating a policy for one request: who approves each stage, in what order, and how a stage ends.

`plan_for` is pure over an injected `Directory` (Graph in production, a dict in unit tests). It fails closed: a
directory failure raises `DirectoryUnavailable` (no plan, so nobody approves — never everybody); a request that
gets no plan raises a `PlanRefused` — a blocked package `PackageBlocked`, a stage left with nobody once the
requester is removed `NoApprovers`, a stage (or the escalation list) asking more than MAX_APPROVERS_PER_STAGE
people `TooManyApprovers` (never a silently cut list). Everything it returns is a plain value with `to_json()`,
and a refusal's `outcome()` is one too, so an activity can hand either to an orchestrator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from greenlight.models import Request, Verdict
from greenlight.policy.model import (
    MAX_APPROVERS_PER_STAGE,
    MEMBER_READ_LIMIT,
    ApprovalPolicy,
    Approvers,
    Rule,
    StageSpec,
)


class Directory(Protocol):
    """The directory lookups a policy needs. Implementations raise DirectoryUnavailable when they cannot answer."""

    async def manager_of(self, user_id: str) -> str | None: ...

    async def group_members(self, group_id: str) -> frozenset[str]:
        """The group's users (transitively). A group of more than MEMBER_READ_LIMIT may be read only that far:
        then MEMBER_READ_LIMIT + 1 of them come back, which no stage may ask anyway."""
        ...

    async def member_groups(self, user_id: str, group_ids: Sequence[str]) -> frozenset[str]: ...


class DirectoryUnavailable(Exception):
    """The directory could not answer (Graph down, throttled past retries, no permission)."""


class PlanRefused(Exception):
    """No plan can be made for this request: the workflow fails it with `outcome()` (its code and reason)."""

    code = "refused"

    def outcome(self) -> dict[str, Any]:
        return {"outcome": self.code, "reason": str(self)}


class PackageBlocked(PlanRefused):
    """Nobody may request this package (answer at request time: 403 / a bot message)."""

    code = "blocked"

    def __init__(self, package_id: str) -> None:
        super().__init__(f"{package_id} is blocked by policy: it cannot be requested")
        self.package_id = package_id


class NoApprovers(PlanRefused):
    """A stage that applies has nobody to approve it (after removing the requester): a failure, never approval."""

    code = "no_approvers"

    def __init__(self, stage_index: int, stage_name: str) -> None:
        super().__init__(f"stage {stage_index + 1} ({stage_name}) has nobody who may approve this request")
        self.stage_index = stage_index
        self.stage_name = stage_name

    def outcome(self) -> dict[str, Any]:
        return {**super().outcome(), "stage_index": self.stage_index, "stage_name": self.stage_name}


class TooManyApprovers(PlanRefused):
    """A stage (`stage_index` None: the escalation list) resolves to more people than may be asked: a failure
    naming the count and the limit, never approval and never a cut list."""

    code = "too_many_approvers"

    def __init__(self, stage_index: int | None, stage_name: str, count: int, limit: int) -> None:
        if stage_index is None:
            where, fix = "escalate_to", "in the approval policy's escalate_to"
        else:
            where, fix = f"stage {stage_index + 1} ({stage_name})", "for this stage in the package's approval policy"
        super().__init__(
            f"{where} would ask {people(count)}, over the limit of {limit}: name a smaller group (or fewer users) {fix}"
        )
        self.stage_index = stage_index
        self.stage_name = stage_name
        self.count = count
        self.limit = limit

    def outcome(self) -> dict[str, Any]:
        return {
            **super().outcome(),
            "stage_index": self.stage_index,
            "stage_name": self.stage_name,
            "count": self.count,
            "limit": self.limit,
        }


def people(count: int) -> str:
    """'150 people', or 'more than 1000 people' for a count that comes from a group read only that far."""
    return f"more than {MEMBER_READ_LIMIT} people" if count > MEMBER_READ_LIMIT else f"{count} people"


# The plan outcomes that fail the request with their reason (the others: approval, auto_approved).
REFUSED_OUTCOMES = (PackageBlocked.code, NoApprovers.code, TooManyApprovers.code)


ApproverSource = Literal["manager", "named", "fallback"]


@dataclass(frozen=True)
class StagePlan:
    index: int  # position in the policy (stages skipped by a condition keep their numbers out of the plan)
    name: str
    rule: Rule
    approvers: tuple[str, ...]  # sorted object ids, never the requester
    source: ApproverSource  # the manager, the named users/groups, or the fallback for a requester without manager

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "rule": self.rule.value,
            "approvers": list(self.approvers),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> StagePlan:
        return cls(value["index"], value["name"], Rule(value["rule"]), tuple(value["approvers"]), value["source"])


@dataclass(frozen=True)
class Timing:
    reminder_hours: int | None = None
    escalate_after_hours: int | None = None
    expire_after_days: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reminder_hours": self.reminder_hours,
            "escalate_after_hours": self.escalate_after_hours,
            "expire_after_days": self.expire_after_days,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Timing:
        return cls(value.get("reminder_hours"), value.get("escalate_after_hours"), value.get("expire_after_days"))


@dataclass(frozen=True)
class ApprovalPlan:
    outcome: Literal["approval", "auto_approved"]
    stages: tuple[StagePlan, ...]
    escalation: tuple[str, ...]  # who is also offered a stage once escalate_after_hours pass (never the requester)
    timing: Timing
    reason: str  # one line for people and the audit log

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "stages": [s.to_json() for s in self.stages],
            "escalation": list(self.escalation),
            "timing": self.timing.to_json(),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ApprovalPlan:
        return cls(
            value["outcome"],
            tuple(StagePlan.from_json(s) for s in value["stages"]),
            tuple(value["escalation"]),
            Timing.from_json(value["timing"]),
            value["reason"],
        )


async def plan_for(request: Request, policy: ApprovalPolicy, directory: Directory) -> ApprovalPlan:
    """The approval plan of `request` under `policy` (see the module docstring for the failures it raises)."""
    if policy.blocked:
        raise PackageBlocked(request.package_id)
    requester = request.requester_oid.lower()
    timing = Timing(policy.reminder_hours, policy.escalate_after_hours, policy.expire_after_days)
    if policy.auto_approve.always:
        return ApprovalPlan("auto_approved", (), (), timing, "the package is pre-approved")
    groups_asked = _groups_about_requester(policy)
    member_of = await directory.member_groups(requester, groups_asked) if groups_asked else frozenset()
    auto_groups = member_of & set(policy.auto_approve.requester_groups)
    if auto_groups:
        return ApprovalPlan("auto_approved", (), (), timing, "the requester is in an auto-approve group")
    escalation = await _resolve(policy.escalate_to, directory) - {requester}
    if len(escalation) > MAX_APPROVERS_PER_STAGE:  # escalation sends each of them a card too
        raise TooManyApprovers(None, "escalate_to", len(escalation), MAX_APPROVERS_PER_STAGE)
    stages = []
    for index, spec in enumerate(policy.stages):
        if spec.applies_if is not None and (spec.applies_if.group_id in member_of) != spec.applies_if.member:
            continue
        stages.append(await _stage_plan(index, spec, policy, requester, directory))
    if not stages:
        raise NoApprovers(0, "(no stage applies to this requester)")
    names = ", ".join(s.name for s in stages)
    return ApprovalPlan("approval", tuple(stages), tuple(sorted(escalation)), timing, f"stages: {names}")


def _groups_about_requester(policy: ApprovalPolicy) -> tuple[str, ...]:
    conditions = [s.applies_if.group_id for s in policy.stages if s.applies_if is not None]
    return tuple(dict.fromkeys([*policy.auto_approve.requester_groups, *conditions]))


async def _resolve(approvers: Approvers, directory: Directory) -> frozenset[str]:
    people = {u.lower() for u in approvers.users}
    for group_id in approvers.groups:
        people |= await directory.group_members(group_id)
    return frozenset(people)


async def _stage_plan(
    index: int, spec: StageSpec, policy: ApprovalPolicy, requester: str, directory: Directory
) -> StagePlan:
    source: ApproverSource = "named"
    if spec.approvers.manager:
        manager = await directory.manager_of(requester)
        if manager and manager.lower() != requester:
            return StagePlan(index, spec.name, spec.rule, (manager.lower(),), "manager")
        source = "fallback"
        named = spec.approvers if spec.approvers.named else policy.escalate_to
        people = await _resolve(named, directory)
    else:
        people = await _resolve(spec.approvers, directory)
    people -= {requester}
    if not people:
        raise NoApprovers(index, spec.name)
    if len(people) > MAX_APPROVERS_PER_STAGE:
        raise TooManyApprovers(index, spec.name, len(people), MAX_APPROVERS_PER_STAGE)
    return StagePlan(index, spec.name, spec.rule, tuple(sorted(people)), source)


async def oversized_lists(policy: ApprovalPolicy, directory: Directory) -> list[str]:
    """For an admin saving `policy`: each approver list (a stage's users and groups, or escalate_to) that holds more
    than MAX_APPROVERS_PER_STAGE people today, as a warning naming its field path. Members change, so every request
    is checked again when it is planned; this only tells early. Directory errors propagate."""
    lists = [(f"stages[{i}].approvers", s.approvers) for i, s in enumerate(policy.stages)]
    warnings = []
    for path, approvers in [*lists, ("escalate_to", policy.escalate_to)]:
        count = len(await _resolve(approvers, directory)) if approvers.named else 0
        if count > MAX_APPROVERS_PER_STAGE:
            when = " (asked when the requester has no manager)" if approvers.manager else ""
            warnings.append(
                f"{path}: its users and groups hold {people(count)} now{when}, over the limit of "
                f"{MAX_APPROVERS_PER_STAGE} one stage may ask: requests would fail (too_many_approvers) until it "
                "names a smaller group"
            )
    return warnings


StageOutcome = Literal["pending", "approved", "rejected"]


def stage_outcome(
    stage: StagePlan,
    decisions: Mapping[str, Verdict | str],
    *,
    escalation: Sequence[str] = (),
    escalated: bool = False,
) -> StageOutcome:
    """Where a stage stands given the decisions so far (approver oid -> verdict).

    Only the stage's approvers count (and, once escalated, the escalation approvers); anyone else's decision is
    ignored. One rejection rejects the stage. Rule any: one approval approves. Rule all: every stage approver must
    approve — or, once escalated, one escalation approver approves on the stage's behalf.
    """
    approvers = set(stage.approvers)
    escalators = set(escalation) - approvers if escalated else set()
    counted = {oid.lower(): Verdict(v) for oid, v in decisions.items() if oid.lower() in approvers | escalators}
    if Verdict.REJECTED in counted.values():
        return "rejected"
    approved = {oid for oid, verdict in counted.items() if verdict is Verdict.APPROVED}
    if stage.rule is Rule.ANY and approved:
        return "approved"
    if approved & escalators or approvers <= approved:
        return "approved"
    return "pending"


def waiting_on(stage: StagePlan, decisions: Mapping[str, Verdict | str]) -> tuple[str, ...]:
    """Stage approvers who have not answered yet (whom reminders go to, and what a card shows)."""
    answered = {oid.lower() for oid in decisions}
    return tuple(oid for oid in stage.approvers if oid not in answered)
