"""ConversationReferences table: PartitionKey = tenant, RowKey = AAD object id.

The tenant id has its own column because botbuilder's ConversationReference serialization drops it.
"""

from __future__ import annotations

import json
from typing import Any

from azure.data.tables import UpdateMode

from greenlight.models import StoredConversationReference, utc_now
from greenlight.storage.account import CONVERSATION_REFERENCES_TABLE, StorageAccount
from greenlight.storage.errors import NotFound, StorageError
from greenlight.storage.keys import as_utc, key, translated, without_none

# A string property holds at most 32K UTF-16 characters; a Teams reference is ~1-2 KB.
_MAX_REFERENCE_CHARS = 32_000


def from_entity(entity: Any) -> StoredConversationReference:
    return StoredConversationReference(
        tenant_id=entity.get("TenantId", entity["PartitionKey"]),
        aad_object_id=entity["RowKey"],
        reference=json.loads(entity["Reference"]),
        service_url=entity["ServiceUrl"],
        user_name=entity.get("UserName"),
        unreachable=bool(entity.get("Unreachable", False)),
        unreachable_reason=entity.get("UnreachableReason"),
        updated_at=as_utc(entity["UpdatedAt"]),
    )


class ConversationReferenceRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(CONVERSATION_REFERENCES_TABLE)

    def upsert(
        self, tenant_id: str, aad_object_id: str, reference: dict[str, Any], service_url: str, user_name: str | None
    ) -> StoredConversationReference:
        """Store the latest reference for a user; a fresh reference also clears an earlier 'unreachable' mark."""
        serialized = json.dumps(reference, separators=(",", ":"), default=str)
        if len(serialized) > _MAX_REFERENCE_CHARS:
            raise StorageError(f"conversation reference is {len(serialized)} characters; the limit is 32000")
        stored = StoredConversationReference(tenant_id, aad_object_id, reference, service_url, user_name)
        entity = without_none(
            {
                "PartitionKey": key(tenant_id, "tenant id"),
                "RowKey": key(aad_object_id, "aad object id"),
                "TenantId": tenant_id,
                "Reference": serialized,
                "ServiceUrl": service_url,
                "UserName": user_name,
                "Unreachable": False,
                "UpdatedAt": stored.updated_at,
            }
        )
        with translated(f"store conversation reference for {aad_object_id}"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        return stored

    def get(self, tenant_id: str, aad_object_id: str) -> StoredConversationReference | None:
        try:
            with translated(f"read conversation reference for {aad_object_id}"):
                entity = self._table.get_entity(key(tenant_id, "tenant id"), key(aad_object_id, "aad object id"))
        except NotFound:
            return None
        return from_entity(entity)

    def mark_unreachable(self, tenant_id: str, aad_object_id: str, reason: str) -> None:
        """Flag a user the bot can no longer message (uninstalled, blocked); raises NotFound if never stored."""
        patch = {
            "PartitionKey": key(tenant_id, "tenant id"),
            "RowKey": key(aad_object_id, "aad object id"),
            "Unreachable": True,
            "UnreachableReason": reason[:1000],
            "UpdatedAt": utc_now(),
        }
        with translated(f"mark {aad_object_id} unreachable"):
            self._table.update_entity(patch, mode=UpdateMode.MERGE)
