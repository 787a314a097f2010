"""Decisions table: PartitionKey = request id, RowKey = stage. Insert-only: the first decision wins."""

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


def to_entity(decision: Decision) -> dict[str, Any]:
    return {
        "PartitionKey": key(decision.request_id, "request id"),
        "RowKey": _stage_key(decision.stage),
        "ApproverOid": decision.approver_oid,
        "ApproverName": decision.approver_name,
        "Verdict": str(decision.verdict),
        "Comment": decision.comment,
        "DecidedAt": decision.decided_at,
    }


def from_entity(entity: Any) -> Decision:
    return Decision(
        request_id=entity["PartitionKey"],
        stage=int(entity["RowKey"]),
        approver_oid=entity["ApproverOid"],
        approver_name=entity.get("ApproverName", ""),
        verdict=Verdict(entity["Verdict"]),
        comment=entity.get("Comment", ""),
        decided_at=as_utc(entity["DecidedAt"]),
    )


class DecisionRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(DECISIONS_TABLE)

    def record(self, decision: Decision) -> Decision:
        """Insert the decision. If one exists for (request, stage) — another approver, a double click, a retried
        invoke — raise AlreadyDecided carrying the decision that won, so the caller can show it."""
        try:
            with translated(f"record decision for {decision.request_id}"):
                self._table.create_entity(to_entity(decision))
        except AlreadyExists:
            existing = self.get(decision.request_id, decision.stage)
            if existing is None:  # cannot happen: decisions are never deleted
                raise
            raise AlreadyDecided(existing) from None
        return decision

    def get(self, request_id: str, stage: int) -> Decision | None:
        try:
            with translated(f"read decision for {request_id}"):
                entity = self._table.get_entity(key(request_id, "request id"), _stage_key(stage))
        except NotFound:
            return None
        return from_entity(entity)

    def list(self, request_id: str) -> list[Decision]:
        with translated(f"list decisions for {request_id}"):
            entities = list(
                self._table.query_entities("PartitionKey eq @rid", parameters={"rid": key(request_id, "request id")})
            )
        return [from_entity(e) for e in entities]
