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

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphError
from greenlight.models import Request
from greenlight.policy.directory import DirectoryCache, GraphDirectory
from greenlight.policy.effective import effective_policy
from greenlight.policy.model import ApprovalPolicy
from greenlight.policy.plan import DirectoryUnavailable, PlanRefused, plan_for
from greenlight.storage import PolicyRepository

GraphFactory = Callable[[], AbstractAsyncContextManager[GraphClient]]


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
