"""The approval policy document: parsed and validated when saved, so evaluation never meets a malformed one.

Body shape (the Admin API's PUT body, stored as is in the Policies table):

    {"stages": [{"name": "Manager", "approvers": {"users": [oid], "groups": [gid], "manager": true},
                 "rule": "any" | "all", "applies_if": {"requester_in_group": gid} | {"requester_not_in_group": gid}}],
     "auto_approve": {"always": false, "requester_groups": [gid]},
     "blocked": false,
     "reminder_hours": 24, "escalate_after_hours": 48, "escalate_to": {"users": [oid], "groups": [gid]},
     "expire_after_days": 14}

Every key but `stages` is optional. A stage with `"manager": true` asks the requester's manager; its `users` and
`groups` are then the fallback for a requester without one (and, when the stage names none, `escalate_to` is).
Every problem is reported at once, each naming its field path (`stages[1].rule`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # stage names end up on cards: one clean line
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_STAGES = 10
MAX_USERS = 100
MAX_GROUPS = 20  # also Graph's checkMemberGroups limit per call
# The people one stage may ask once its users and groups are resolved (and, apart, the escalation list): each one
# gets an approval card, a chat created on first contact, every card updated when the stage is decided, and a
# reminder per `reminder_hours`. Teams allows a bot 30 requests/s per tenant for all of that, so 100 people is about
# 7 s of the tenant's budget for one stage's cards, while a group of 1,200 would hold it for well over a minute and
# send cards nobody reads ("any one decides" needs one reader; "all" cannot wait on a crowd). 100 is also what a
# stage may list by hand (MAX_USERS). Group members are counted when a request is planned; a stage over the bound
# fails the request with its count (`plan.TooManyApprovers`), never asks a cut list.
MAX_APPROVERS_PER_STAGE = 100
# How far a group's members are read: past the bound any count only says "too many", so a group of 100,000 costs
# two Graph pages, not a hundred (and a count above this is shown as "more than" it).
MEMBER_READ_LIMIT = 1000
MAX_NAME = 80
MAX_REMINDER_HOURS = 24 * 30
MAX_ESCALATE_HOURS = 24 * 90
MAX_EXPIRE_DAYS = 365


class Rule(StrEnum):
    ANY = "any"  # one approval decides the stage
    ALL = "all"  # every approver of the stage must approve


@dataclass(frozen=True)
class Approvers:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    manager: bool = False

    @property
    def named(self) -> bool:
        return bool(self.users or self.groups)


@dataclass(frozen=True)
class StageCondition:
    """The stage applies only when the requester is (`member=True`) or is not in the group."""

    group_id: str
    member: bool


@dataclass(frozen=True)
class StageSpec:
    name: str
    approvers: Approvers
    rule: Rule = Rule.ANY
    applies_if: StageCondition | None = None


@dataclass(frozen=True)
class AutoApprove:
    always: bool = False
    requester_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalPolicy:
    stages: tuple[StageSpec, ...]
    auto_approve: AutoApprove = field(default_factory=AutoApprove)
    blocked: bool = False
    reminder_hours: int | None = None
    escalate_after_hours: int | None = None
    escalate_to: Approvers = field(default_factory=Approvers)
    expire_after_days: int | None = None


class PolicyInvalid(ValueError):
    """The document breaks one or more rules; `errors` are `path: message` strings."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def default_policy(approver_oids: Sequence[str], approver_group_ids: Sequence[str]) -> ApprovalPolicy:
    """With no policy saved anywhere: one stage, the configured approvers (users and groups), any one decides."""
    users = tuple(sorted({o.lower() for o in approver_oids}))
    approvers = Approvers(users, tuple(g.lower() for g in approver_group_ids))
    return ApprovalPolicy(stages=(StageSpec("Approval", approvers, Rule.ANY),))


def parse_policy(document: Any) -> ApprovalPolicy:
    """The policy a document describes, or PolicyInvalid listing every problem with its field path."""
    errors: list[str] = []
    if not isinstance(document, dict):
        raise PolicyInvalid(["(body): must be a JSON object"])
    _unknown(document, _TOP_KEYS, "", errors)
    stages = tuple(_stages(document.get("stages"), errors))
    auto = _auto_approve(document.get("auto_approve"), errors)
    blocked = _bool(document.get("blocked", False), "blocked", errors)
    reminder = _hours_or_days(document, "reminder_hours", MAX_REMINDER_HOURS, errors)
    escalate_after = _hours_or_days(document, "escalate_after_hours", MAX_ESCALATE_HOURS, errors)
    expire = _hours_or_days(document, "expire_after_days", MAX_EXPIRE_DAYS, errors)
    escalate_to = _approvers(document.get("escalate_to", {}), "escalate_to", errors, allow_manager=False)
    policy = ApprovalPolicy(stages, auto, blocked, reminder, escalate_after, escalate_to, expire)
    if not errors:
        _cross_checks(policy, errors)
    if errors:
        raise PolicyInvalid(errors)
    return policy


def policy_document(policy: ApprovalPolicy) -> dict[str, Any]:
    """The canonical document of a policy (what GET answers after a PUT: defaults filled in, ids lower-case)."""
    document: dict[str, Any] = {
        "stages": [_stage_document(s) for s in policy.stages],
        "auto_approve": {
            "always": policy.auto_approve.always,
            "requester_groups": list(policy.auto_approve.requester_groups),
        },
        "blocked": policy.blocked,
        "reminder_hours": policy.reminder_hours,
        "escalate_after_hours": policy.escalate_after_hours,
        "escalate_to": {"users": list(policy.escalate_to.users), "groups": list(policy.escalate_to.groups)},
        "expire_after_days": policy.expire_after_days,
    }
    return document


def _stage_document(stage: StageSpec) -> dict[str, Any]:
    a = stage.approvers
    document: dict[str, Any] = {
        "name": stage.name,
        "approvers": {"users": list(a.users), "groups": list(a.groups), "manager": a.manager},
        "rule": stage.rule.value,
    }
    if stage.applies_if is not None:
        key = "requester_in_group" if stage.applies_if.member else "requester_not_in_group"
        document["applies_if"] = {key: stage.applies_if.group_id}
    return document


_TOP_KEYS = {
    "stages",
    "auto_approve",
    "blocked",
    "reminder_hours",
    "escalate_after_hours",
    "escalate_to",
    "expire_after_days",
}


def _unknown(value: dict[str, Any], allowed: set[str], path: str, errors: list[str]) -> None:
    for key in sorted(set(value) - allowed, key=str):
        where = f"{path}.{key}" if path else str(key)
        errors.append(f"{where}: unknown field (allowed: {', '.join(sorted(allowed))})")


def _bool(value: Any, path: str, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append(f"{path}: must be true or false")
        return False
    return value


def _hours_or_days(document: dict[str, Any], name: str, maximum: int, errors: list[str]) -> int | None:
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        errors.append(f"{name}: must be a whole number from 1 to {maximum}, or null for none")
        return None
    return value


def _ids(value: Any, path: str, limit: int, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(f"{path}: must be a list of object ids")
        return ()
    if len(value) > limit:
        errors.append(f"{path}: at most {limit} entries")
    found: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _GUID.fullmatch(item):
            errors.append(f"{path}[{index}]: must be an Entra object id (a GUID)")
        elif item.lower() in found:
            errors.append(f"{path}[{index}]: {item} is listed twice")
        else:
            found.append(item.lower())
    return tuple(found)


def _approvers(value: Any, path: str, errors: list[str], *, allow_manager: bool) -> Approvers:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object with users and groups")
        return Approvers()
    allowed = {"users", "groups", "manager"} if allow_manager else {"users", "groups"}
    _unknown(value, allowed, path, errors)
    users = _ids(value.get("users"), f"{path}.users", MAX_USERS, errors)
    groups = _ids(value.get("groups"), f"{path}.groups", MAX_GROUPS, errors)
    manager = _bool(value.get("manager", False), f"{path}.manager", errors) if allow_manager else False
    return Approvers(users, groups, manager)


def _stages(value: Any, errors: list[str]) -> list[StageSpec]:
    if value is None:
        value = []
    if not isinstance(value, list):
        errors.append("stages: must be a list of stages")
        return []
    if len(value) > MAX_STAGES:
        errors.append(f"stages: at most {MAX_STAGES} stages")
    stages = [_stage(item, f"stages[{index}]", errors) for index, item in enumerate(value)]
    names: set[str] = set()
    for index, stage in enumerate(stages):
        if stage is not None and stage.name.casefold() in names:
            errors.append(f"stages[{index}].name: {stage.name!r} is used by an earlier stage")
        if stage is not None:
            names.add(stage.name.casefold())
    return [s for s in stages if s is not None]


def _stage(value: Any, path: str, errors: list[str]) -> StageSpec | None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object")
        return None
    _unknown(value, {"name", "approvers", "rule", "applies_if"}, path, errors)
    name = value.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or _CONTROL.search(name):
        errors.append(f"{path}.name: must be one line of 1 to {MAX_NAME} characters, without control characters")
        name = ""
    approvers = _approvers(value.get("approvers"), f"{path}.approvers", errors, allow_manager=True)
    if not approvers.named and not approvers.manager and isinstance(value.get("approvers"), dict):
        errors.append(f"{path}.approvers: name users, groups, or the manager")
    rule = value.get("rule", Rule.ANY.value)
    if rule not in (Rule.ANY.value, Rule.ALL.value):
        errors.append(f'{path}.rule: must be "any" or "all"')
        rule = Rule.ANY.value
    condition = _condition(value.get("applies_if"), f"{path}.applies_if", errors)
    return StageSpec(name.strip(), approvers, Rule(rule), condition)


def _condition(value: Any, path: str, errors: list[str]) -> StageCondition | None:
    if value is None:
        return None
    keys = ("requester_in_group", "requester_not_in_group")
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in keys:
        errors.append(f'{path}: must be {{"requester_in_group": gid}} or {{"requester_not_in_group": gid}}')
        return None
    key, group = next(iter(value.items()))
    if not isinstance(group, str) or not _GUID.fullmatch(group):
        errors.append(f"{path}.{key}: must be an Entra group object id (a GUID)")
        return None
    return StageCondition(group.lower(), key == "requester_in_group")


def _auto_approve(value: Any, errors: list[str]) -> AutoApprove:
    if value is None:
        return AutoApprove()
    if not isinstance(value, dict):
        errors.append("auto_approve: must be an object")
        return AutoApprove()
    _unknown(value, {"always", "requester_groups"}, "auto_approve", errors)
    always = _bool(value.get("always", False), "auto_approve.always", errors)
    groups = _ids(value.get("requester_groups"), "auto_approve.requester_groups", MAX_GROUPS, errors)
    return AutoApprove(always, groups)


_CROSS_CHECKS: list[Callable[[ApprovalPolicy], str | None]] = [
    lambda p: (
        "blocked: a blocked package cannot also be auto-approved always"
        if p.blocked and p.auto_approve.always
        else None
    ),
    lambda p: (
        "stages: name at least one stage (only a blocked or always auto-approved package needs none)"
        if not p.stages and not p.blocked and not p.auto_approve.always
        else None
    ),
    lambda p: (
        "escalate_to: name users or groups to escalate to when escalate_after_hours is set"
        if p.escalate_after_hours is not None and not p.escalate_to.named
        else None
    ),
    lambda p: (
        "escalate_after_hours: set it (hours) for escalate_to to be used"
        if p.escalate_to.named and p.escalate_after_hours is None
        else None
    ),
    lambda p: (
        "escalate_after_hours: must come before expiry (less than expire_after_days × 24)"
        if p.escalate_after_hours and p.expire_after_days and p.escalate_after_hours >= p.expire_after_days * 24
        else None
    ),
]


def _cross_checks(policy: ApprovalPolicy, errors: list[str]) -> None:
    errors.extend(message for check in _CROSS_CHECKS if (message := check(policy)))
    for index, stage in enumerate(policy.stages):
        if stage.approvers.manager and not stage.approvers.named and not policy.escalate_to.named:
            errors.append(
                f"stages[{index}].approvers: a manager stage needs users or groups (or the policy's escalate_to) "
                "to fall back on when the requester has no manager"
            )
