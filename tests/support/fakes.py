"""In-memory stand-ins at the application layer's seams (greenlight.requests.ports), for fast rule tests.

The same behaviour is tested on the real parts too: repositories on Azurite, the workflow on devhost, the
notifier through the Playground. These fakes keep the contracts that matter: create raises AlreadyExists,
modify re-applies a pure change, record raises AlreadyDecided carrying the winner, append_once is insert-only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from greenlight.models import Decision, Request, Versioned, utc_now
from greenlight.requests.errors import UnknownPackage, WorkflowUnavailable
from greenlight.requests.ports import ResolvedPackage
from greenlight.requests.progress import Progress
from greenlight.storage.errors import AlreadyDecided, AlreadyExists, NotFound


class FakeRequests:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[Request, int]] = {}
        self.writes = 0

    def create(self, request: Request) -> Versioned[Request]:
        key = (request.tenant_id, request.request_id)
        if key in self.rows:
            raise AlreadyExists(f"request {request.request_id} exists")
        self.rows[key] = (request, 1)
        self.writes += 1
        return Versioned(request, "1")

    def get(self, tenant_id: str, request_id: str) -> Versioned[Request]:
        if (tenant_id, request_id) not in self.rows:
            raise NotFound(f"request {request_id}")
        request, version = self.rows[(tenant_id, request_id)]
        return Versioned(request, str(version))

    def modify(
        self, tenant_id: str, request_id: str, change: Callable[[Request], Request | None], attempts: int = 5
    ) -> Versioned[Request]:
        current = self.get(tenant_id, request_id)
        changed = change(current.value)
        if changed is None or changed == current.value:
            return current
        changed = dataclasses.replace(changed, updated_at=utc_now())
        version = int(current.etag) + 1
        self.rows[(tenant_id, request_id)] = (changed, version)
        self.writes += 1
        return Versioned(changed, str(version))


class FakeDecisions:
    """One row per approver per stage, and one per settled stage (approver ""); all insert-only."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int, str], Decision] = {}

    def _insert(self, key: tuple[str, int, str], decision: Decision) -> Decision:
        if key in self.rows:
            raise AlreadyDecided(self.rows[key])
        self.rows[key] = decision
        return decision

    def record(self, decision: Decision) -> Decision:
        return self._insert((decision.request_id, decision.stage, decision.approver_oid.lower()), decision)

    def settle(self, decision: Decision) -> Decision:
        return self._insert((decision.request_id, decision.stage, ""), decision)

    def get(self, request_id: str, stage: int) -> Decision | None:
        return self.rows.get((request_id, stage, ""))

    def of_approver(self, request_id: str, stage: int, approver_oid: str) -> Decision | None:
        return self.rows.get((request_id, stage, approver_oid.lower()))

    def for_stage(self, request_id: str, stage: int) -> list[Decision]:
        found = [d for (rid, st, oid), d in self.rows.items() if rid == request_id and st == stage and oid]
        return sorted(found, key=lambda d: d.decided_at)


class DictDirectory:
    """The policy Directory port from dicts (managers, transitive members); `down` fails every lookup."""

    def __init__(self, managers: dict[str, str] | None = None, members: dict[str, set[str]] | None = None) -> None:
        self.managers, self.members, self.down = managers or {}, members or {}, False

    def _check(self) -> None:
        if self.down:
            from greenlight.policy import DirectoryUnavailable

            raise DirectoryUnavailable("directory down")

    async def manager_of(self, user_id: str) -> str | None:
        self._check()
        return self.managers.get(user_id)

    async def group_members(self, group_id: str) -> frozenset[str]:
        self._check()
        return frozenset(self.members.get(group_id, set()))

    async def member_groups(self, user_id: str, group_ids: Any) -> frozenset[str]:
        self._check()
        return frozenset(g for g in group_ids if user_id in self.members.get(g, set()))


class FakePolicies:
    """A PolicyService stand-in: a policy per package (else the default), and plan JSON made by plan_for over a
    dict directory, so the rule tests run the real planning."""

    def __init__(self, policies: dict[str, Any] | None = None, directory: Any = None) -> None:
        self.policies = policies or {}
        self.directory = directory or DictDirectory()
        self.default_approvers: tuple[str, ...] = ()

    def policy_for(self, tenant_id: str, package_id: str) -> Any:
        from greenlight.policy import default_policy

        return self.policies.get(package_id) or self.policies.get("*") or default_policy(self.default_approvers, ())

    async def plan(self, request: Request) -> dict[str, Any]:
        from greenlight.policy import PlanRefused, plan_for

        try:
            plan = await plan_for(request, self.policy_for(request.tenant_id, request.package_id), self.directory)
        except PlanRefused as refused:  # the same outcomes as PolicyService.plan: blocked, no / too many approvers
            return refused.outcome()
        return plan.to_json()


class FakeAudit:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail_next = False  # simulate a crash between the row and its audit entry

    def append_once(
        self,
        event_key: str,
        occurred_at: dt.datetime,
        actor: str,
        action: str,
        entity: str,
        details: dict[str, Any] | None = None,
    ) -> bool:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("storage went away")
        key = (event_key, occurred_at.isoformat())
        if key in self.rows:
            return False
        self.rows[key] = {"actor": actor, "action": action, "entity": entity, "details": details or {}}
        return True

    def actions(self) -> list[str]:
        return [row["action"] for row in self.rows.values()]


class FakeCatalog:
    def __init__(self, packages: dict[str, list[str]] | None = None) -> None:
        self.packages = packages or {"7zip.7zip": ["26.03", "24.09"]}  # newest first
        self.lookups = 0

    def resolve(self, package_id: str, version: str | None) -> ResolvedPackage:
        self.lookups += 1
        for known, versions in self.packages.items():
            if known.lower() == package_id.lower() and (version is None or version in versions):
                return ResolvedPackage(known, version or versions[0], known.split(".")[0])
        raise UnknownPackage(package_id, version)


class FakeDevices:
    def __init__(self, architecture: str = "arm64") -> None:
        self.architecture = architecture
        self.asked: list[str] = []

    async def architecture_of(self, tenant_id: str, user_oid: str) -> str:
        self.asked.append(user_oid)
        return self.architecture


class RecordingWorkflow:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail = False

    async def _record(self, *call: str) -> None:
        if self.fail:
            raise WorkflowUnavailable("durable client down")
        self.calls.append(call)

    async def start(self, tenant_id: str, request_id: str) -> None:
        await self._record("start", request_id)

    async def raise_decision(self, tenant_id: str, request_id: str, stage: int) -> None:
        await self._record("Decision", request_id, str(stage))

    async def raise_cancel(self, tenant_id: str, request_id: str) -> None:
        await self._record("Cancel", request_id)


class RecordingNotifier:
    def __init__(self, approvers: list[str] | None = None) -> None:
        self.approvers = approvers or ["approver-1"]
        self.sent: list[str] = []
        self.decisions: list[Decision] = []
        self.statuses: list[tuple[str, Progress | None]] = []
        self.cards: list[tuple[int, str]] = []  # (stage, approver) per approval card sent, once each
        self.reminders: list[tuple[int, str]] = []  # (stage, approver) per reminder

    async def send_approval_cards(self, request: Request) -> list[str]:
        from greenlight.requests import stages

        self.sent.append(request.request_id)
        stage = stages.stage_at(request, request.stage)
        if stage is None:
            return list(self.approvers)
        people = stages.deciders(request, stage)
        self.cards += [(request.stage, oid) for oid in people if (request.stage, oid) not in self.cards]
        return list(people)

    async def send_reminders(self, request: Request, approvers: list[str]) -> list[str]:
        self.reminders += [(request.stage, oid) for oid in approvers]
        return list(approvers)

    async def show_decision(self, request: Request, decision: Decision) -> int:
        self.decisions.append(decision)
        return 1

    async def show_status(self, request: Request, progress: Progress | None) -> bool:
        self.statuses.append((str(request.status), progress))
        return True
