"""Decisions table: PartitionKey = request id. Insert-only, so the first writer wins, per row:

- RowKey `{stage:04d}-{approver oid}`: one approver's decision in one stage (a double click or a retried invoke
  finds its own first decision);
- RowKey `{stage:04d}`: the stage's outcome — the decision that settled it (for rule `any` the first one; a
  rejection; the approval that completed rule `all`). Whoever settles a stage first wins, so two approvers
  clicking at once cannot both decide it. Rows written before approval policies are of this kind.
"""

from __future__ import annotations

from typing import Any

from greenlight.models import Decision, Verdict
from greenlight.storage.account import DECISIONS_TABLE, StorageAccount
from greenlight.storage.errors import AlreadyDecided, AlreadyExists, NotFound
from greenlight.storage.keys import as_utc, key, translated

__all__ = ["AlreadyDecided", "DecisionRepository"]


def _stage_key(stage: int) -> str:
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise ValueError(f"stage must be a non-negative integer, got {stage!r}")
    return f"{stage:04d}"  # zero-padded so the rows sort by stage


def _approver_key(stage: int, approver_oid: str) -> str:
    return f"{_stage_key(stage)}-{key(approver_oid.lower(), 'approver oid')}"


def to_entity(decision: Decision, row_key: str) -> dict[str, Any]:
    return {
        "PartitionKey": key(decision.request_id, "request id"),
        "RowKey": row_key,
        "Stage": decision.stage,
        "ApproverOid": decision.approver_oid,
        "ApproverName": decision.approver_name,
        "Verdict": str(decision.verdict),
        "Comment": decision.comment,
        "DecidedAt": decision.decided_at,
    }


def from_entity(entity: Any) -> Decision:
    return Decision(
        request_id=entity["PartitionKey"],
        stage=int(entity["RowKey"][:4]),
        approver_oid=entity["ApproverOid"],
        approver_name=entity.get("ApproverName", ""),
        verdict=Verdict(entity["Verdict"]),
        comment=entity.get("Comment", ""),
        decided_at=as_utc(entity["DecidedAt"]),
    )


class DecisionRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(DECISIONS_TABLE)

    def _insert(self, decision: Decision, row_key: str) -> Decision:
        try:
            with translated(f"record decision for {decision.request_id}"):
                self._table.create_entity(to_entity(decision, row_key))
        except AlreadyExists:
            existing = self._read(decision.request_id, row_key)
            if existing is None:  # cannot happen: decisions are never deleted
                raise
            raise AlreadyDecided(existing) from None
        return decision

    def _read(self, request_id: str, row_key: str) -> Decision | None:
        try:
            with translated(f"read decision for {request_id}"):
                entity = self._table.get_entity(key(request_id, "request id"), row_key)
        except NotFound:
            return None
        return from_entity(entity)

    def record(self, decision: Decision) -> Decision:
        """Insert one approver's decision in a stage; AlreadyDecided carries their first one if it exists."""
        return self._insert(decision, _approver_key(decision.stage, decision.approver_oid))

    def settle(self, decision: Decision) -> Decision:
        """Insert the decision that settled its stage; AlreadyDecided carries the one that settled it first."""
        return self._insert(decision, _stage_key(decision.stage))

    def get(self, request_id: str, stage: int) -> Decision | None:
        """The decision that settled `stage`, or None while it is open."""
        return self._read(request_id, _stage_key(stage))

    def of_approver(self, request_id: str, stage: int, approver_oid: str) -> Decision | None:
        return self._read(request_id, _approver_key(stage, approver_oid))

    def for_stage(self, request_id: str, stage: int) -> list[Decision]:
        """Every approver's decision in `stage`, oldest first."""
        prefix = _stage_key(stage) + "-"
        with translated(f"list decisions for {request_id}"):
            entities = list(
                self._table.query_entities(
                    "PartitionKey eq @rid and RowKey gt @low and RowKey lt @high",
                    parameters={"rid": key(request_id, "request id"), "low": prefix, "high": prefix + "~"},
                )
            )
        return sorted((from_entity(e) for e in entities), key=lambda d: d.decided_at)

    def list(self, request_id: str) -> list[Decision]:
        """Every approver's decision on the request (the settled-stage rows are not repeated)."""
        with translated(f"list decisions for {request_id}"):
            entities = list(
                self._table.query_entities("PartitionKey eq @rid", parameters={"rid": key(request_id, "request id")})
            )
        return [from_entity(e) for e in entities if "-" in e["RowKey"]]
