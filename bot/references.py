"""Conversation references: what to keep from an activity so the bot can reach that user later.

botbuilder 4.17 loses the tenant twice (ConversationAccount.tenant_id maps to JSON `tenantID` while Teams sends
`tenantId`, and CloudAdapter does not copy `channelData.tenant.id`), so the tenant is read from channelData and
stored in its own column, and written back into the reference when it is loaded.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ConversationReference


def tenant_of(activity: Activity) -> str | None:
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant") if isinstance(channel_data.get("tenant"), dict) else {}
    tenant_id = tenant.get("id") or (activity.conversation.tenant_id if activity.conversation else None)
    if not tenant_id and activity.conversation is not None:
        # msrest keeps unknown JSON keys in additional_properties: Teams' `conversation.tenantId` lands here.
        tenant_id = (getattr(activity.conversation, "additional_properties", None) or {}).get("tenantId")
    return str(tenant_id) if tenant_id else None


def is_personal(activity: Activity) -> bool:
    """Only 1:1 chats are stored per user: a group chat reference would send approval cards to the whole group."""
    conversation = activity.conversation
    if conversation is None:
        return False
    if conversation.is_group:
        return False
    return (conversation.conversation_type or "personal") == "personal"


def serialize_reference(activity: Activity) -> dict[str, Any]:
    reference = TurnContext.get_conversation_reference(activity)
    data = reference.serialize()
    tenant_id = tenant_of(activity)
    if tenant_id:
        data.setdefault("conversation", {})["tenantId"] = tenant_id
    return data


def load_reference(data: dict[str, Any], tenant_id: str | None = None) -> ConversationReference:
    reference = ConversationReference().deserialize(data)
    if reference.conversation is not None and tenant_id:
        reference.conversation.tenant_id = tenant_id
    return reference
