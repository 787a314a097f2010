"""Which policy governs a request: the package's own, else the tenant default (`*`), else today's behaviour."""

from __future__ import annotations

from collections.abc import Sequence

from greenlight.policy.model import ApprovalPolicy, default_policy, parse_policy
from greenlight.policy.plan import PackageBlocked
from greenlight.storage import PolicyRepository


def effective_policy(
    policies: PolicyRepository,
    tenant_id: str,
    package_id: str,
    approver_oids: Sequence[str],
    approver_group_ids: Sequence[str],
) -> ApprovalPolicy:
    """The stored policy that applies (validated when it was saved, parsed again here), or the configured default:
    one stage, GREENLIGHT_APPROVER_OIDS and the members of GREENLIGHT_APPROVER_GROUP_IDS, any one decides."""
    stored = policies.effective(tenant_id, package_id)
    if stored is None:
        return default_policy(approver_oids, approver_group_ids)
    return parse_policy(stored.value.document)


def ensure_requestable(policy: ApprovalPolicy, package_id: str) -> None:
    """Raise PackageBlocked when nobody may request the package: the intake answers before anything is stored."""
    if policy.blocked:
        raise PackageBlocked(package_id)
