"""Approval policies: who approves a request, in what order, and when reminders, escalation and expiry fall.

`model` parses and validates the stored document, `plan` turns it into a plan for one request over a directory
port, `schedule` gives the next wake-up of a waiting stage, `directory` is the Graph implementation of the port,
`admin` is the read/save/delete service behind /api/policies, and `service.PolicyService.plan` is the one
call the request workflow makes (a JSON-ready result). None of it imports functions, bot or
orchestrations.
"""

from greenlight.policy.model import (
    MAX_APPROVERS_PER_STAGE,
    ApprovalPolicy,
    Approvers,
    AutoApprove,
    PolicyInvalid,
    Rule,
    StageCondition,
    StageSpec,
    default_policy,
    parse_policy,
    policy_document,
)
from greenlight.policy.plan import (
    REFUSED_OUTCOMES,
    ApprovalPlan,
    Directory,
    DirectoryUnavailable,
    NoApprovers,
    PackageBlocked,
    PlanRefused,
    StagePlan,
    Timing,
    TooManyApprovers,
    oversized_lists,
    plan_for,
    stage_outcome,
    waiting_on,
)
from greenlight.policy.schedule import MAX_TIMER, Wakeup, next_wakeup

__all__ = [
    "MAX_APPROVERS_PER_STAGE",
    "MAX_TIMER",
    "REFUSED_OUTCOMES",
    "ApprovalPlan",
    "ApprovalPolicy",
    "Approvers",
    "AutoApprove",
    "Directory",
    "DirectoryUnavailable",
    "NoApprovers",
    "PackageBlocked",
    "PlanRefused",
    "PolicyInvalid",
    "Rule",
    "StageCondition",
    "StagePlan",
    "StageSpec",
    "Timing",
    "TooManyApprovers",
    "Wakeup",
    "default_policy",
    "next_wakeup",
    "oversized_lists",
    "parse_policy",
    "plan_for",
    "policy_document",
    "stage_outcome",
    "waiting_on",
]
