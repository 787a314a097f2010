"""ApprovalCards table: PartitionKey = request id, RowKey = approver oid; where each approver's card lives."""

from __future__ import annotations

from typing import Any

from azure.data.tables import UpdateMode

from greenlight.models import ApprovalCard, utc_now
from greenlight.storage.account import APPROVAL_CARDS_TABLE, StorageAccount
from greenlight.storage.keys import as_utc, key, translated


def from_entity(entity: Any) -> ApprovalCard:
    return ApprovalCard(
        request_id=entity["PartitionKey"],
        approver_oid=entity["RowKey"],
        conversation_id=entity["ConversationId"],
        activity_id=entity["ActivityId"],
        service_url=entity["ServiceUrl"],
        updated_at=as_utc(entity["UpdatedAt"]),
        stage=int(entity.get("Stage", 0)),
    )


class ApprovalCardRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(APPROVAL_CARDS_TABLE)

    def put(
        self,
        request_id: str,
        approver_oid: str,
        conversation_id: str,
        activity_id: str,
        service_url: str,
        stage: int = 0,
    ) -> ApprovalCard:
        """Record (or replace: a re-sent card, or a later stage's, has a new activity id) one approver's card."""
        card = ApprovalCard(request_id, approver_oid, conversation_id, activity_id, service_url, utc_now(), stage)
        entity = {
            "PartitionKey": key(request_id, "request id"),
            "RowKey": key(approver_oid, "approver oid"),
            "ConversationId": conversation_id,
            "ActivityId": activity_id,
            "ServiceUrl": service_url,
            "UpdatedAt": card.updated_at,
            "Stage": stage,
        }
        with translated(f"store approval card for {request_id}"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        return card

    def list(self, request_id: str) -> list[ApprovalCard]:
        with translated(f"list approval cards for {request_id}"):
            entities = list(
                self._table.query_entities("PartitionKey eq @rid", parameters={"rid": key(request_id, "request id")})
            )
        return [from_entity(e) for e in entities]
