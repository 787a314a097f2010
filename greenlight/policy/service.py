"""One call for the request workflow: the approval plan of a request as a JSON-ready dict (an activity's result).

    service = PolicyService(PolicyRepository(account), graph_factory, DirectoryCache(ttl), oids, group_ids)
    result = await service.plan(request)

`result["outcome"]` is `approval` (with `stages`, `escalation`, `timing`), `auto_approved`, or a refusal with its
`reason` (`plan.REFUSED_OUTCOMES`): `blocked`, `no_approvers` (with `stage_index`, `stage_name`), or
`too_many_approvers` (with `stage_index` — null for the escalation list — `stage_name`, `count`, `limit`). A
directory outage is not an outcome: DirectoryUnavailable is raised, so the activity fails and the orchestrator's
retry policy tries again later — nobody approves meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphError
from greenlight.models import Request
from greenlight.policy.directory import DirectoryCache, GraphDirectory
from greenlight.policy.effective import effective_policy
from greenlight.policy.model import MAX_APPROVERS_PER_STAGE, ApprovalPolicy, parse_policy
from greenlight.policy.plan import DirectoryUnavailable, PlanRefused, oversized_lists, plan_for
from greenlight.storage import PolicyRepository

GraphFactory = Callable[[], AbstractAsyncContextManager[GraphClient]]
log = logging.getLogger("greenlight.policy.service")
SIZE_CHECK_SECONDS = 5.0


class PolicyService:
    def __init__(
        self,
        policies: PolicyRepository,
        graph: GraphFactory,
        cache: DirectoryCache,
        approver_oids: Sequence[str],
        approver_group_ids: Sequence[str],
    ) -> None:
        self._policies = policies
        self._graph = graph
        self._cache = cache
        self._approver_oids = tuple(approver_oids)
        self._approver_group_ids = tuple(approver_group_ids)

    def policy_for(self, tenant_id: str, package_id: str) -> ApprovalPolicy:
        """The policy that governs a package (blocking is `policy.blocked`; see effective.ensure_requestable)."""
        return effective_policy(self._policies, tenant_id, package_id, self._approver_oids, self._approver_group_ids)

    async def plan(self, request: Request) -> dict[str, Any]:
        policy = self.policy_for(request.tenant_id, request.package_id)
        try:
            async with self._graph() as graph:
                plan = await plan_for(request, policy, GraphDirectory(graph, self._cache))
        except PlanRefused as refused:  # blocked, nobody, too many: the workflow fails the request with the reason
            return refused.outcome()
        except GraphError as error:  # opening the client or a token failed: the same outage, closed
            raise DirectoryUnavailable(f"Microsoft Graph is unavailable ({type(error).__name__})") from None
        return plan.to_json()

    async def size_warnings(self, document: Mapping[str, Any], budget_seconds: float = SIZE_CHECK_SECONDS) -> list[str]:
        """What the admin API tells after a save: approver lists of the (canonical) document that hold more people
        than one stage may ask (`plan.oversized_lists`). Only groups can: users alone stay within the bound
        (model.MAX_USERS), so a policy naming no group costs no Graph call. Never raises — the policy is saved
        either way: when the directory cannot answer within the budget, one warning says the sizes were not
        checked."""
        policy = parse_policy(document)
        if not any(a.groups for a in (*(s.approvers for s in policy.stages), policy.escalate_to)):
            return []
        try:
            async with asyncio.timeout(budget_seconds), self._graph() as graph:
                return await oversized_lists(policy, GraphDirectory(graph, self._cache))
        except Exception as error:  # noqa: BLE001 - a warning never fails the save; the cause is logged, no secret
            log.warning("group sizes of a saved policy not checked: %s", type(error).__name__)
            return [
                f"the groups' sizes could not be checked now ({type(error).__name__}); a stage whose users and groups "
                f"hold more than {MAX_APPROVERS_PER_STAGE} people fails its requests (too_many_approvers)"
            ]
