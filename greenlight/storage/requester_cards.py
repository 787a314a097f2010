"""RequesterCards table: where each requester's status card for a request lives, so it can be updated in place.

Approvers' copies are in the ApprovalCards table; the requester's copy is kept apart so nothing that walks the
approvers' cards (reminders, escalation, the decided card) can mistake the requester for an approver.
PartitionKey = request id, RowKey = requester oid.
"""

from __future__ import annotations

from azure.data.tables import UpdateMode

from greenlight.models import CardAddress, utc_now
from greenlight.storage.account import StorageAccount
from greenlight.storage.errors import NotFound
from greenlight.storage.keys import key, translated

REQUESTER_CARDS_TABLE = "RequesterCards"


class RequesterCardRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(REQUESTER_CARDS_TABLE)

    def put(self, request_id: str, requester_oid: str, card: CardAddress) -> None:
        entity = {
            "PartitionKey": key(request_id, "request id"),
            "RowKey": key(requester_oid, "requester oid"),
            "TenantId": card.tenant_id,
            "ConversationId": card.conversation_id,
            "ActivityId": card.activity_id,
            "ServiceUrl": card.service_url,
            "UpdatedAt": utc_now(),
        }
        with translated(f"store requester card for {request_id}"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def get(self, request_id: str, requester_oid: str) -> CardAddress | None:
        try:
            with translated(f"read requester card for {request_id}"):
                entity = self._table.get_entity(key(request_id, "request id"), key(requester_oid, "requester oid"))
        except NotFound:
            return None
        return CardAddress(entity["TenantId"], entity["ConversationId"], entity["ActivityId"], entity["ServiceUrl"])
