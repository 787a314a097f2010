"""Audit table: PartitionKey = yyyymm, RowKey = inverted time + id, so a month reads newest first.

Append-only: this class has no update or delete, and every append is an insert of a fresh key.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

from greenlight.models import AuditEntry, utc_now
from greenlight.numbers import is_ascii_number
from greenlight.storage.account import AUDIT_TABLE, StorageAccount
from greenlight.storage.errors import AlreadyExists, StorageError
from greenlight.storage.keys import as_utc, key, translated
from greenlight.storage.paging import Page, query_page

_MAX_MICROS = 10**17 - 1  # microseconds since 1970 fit in 17 digits until the year 5138
_MAX_DETAILS_CHARS = 32_000
# Entry ids of append_once are uuid5 in this namespace over the caller's event key.
_ONCE_NAMESPACE = uuid.UUID("5d0c1a8e-2b7f-4e43-9a6d-3f1e8b2c7d40")


def month_key(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m")


def inverted_time_key(when: dt.datetime, entry_id: str) -> str:
    micros = int(when.astimezone(dt.UTC).timestamp() * 1_000_000)
    return f"{_MAX_MICROS - micros:017d}-{entry_id}"


def from_entity(entity: Any) -> AuditEntry:
    return AuditEntry(
        entry_id=entity["RowKey"].split("-", 1)[1],
        occurred_at=as_utc(entity["OccurredAt"]),
        actor=entity["Actor"],
        action=entity["Action"],
        entity=entity["Entity"],
        details=json.loads(entity.get("Details", "{}")),
    )


class AuditLog:
    def __init__(self, account: StorageAccount, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._table = account.table(AUDIT_TABLE)
        self._clock = clock

    def append(self, actor: str, action: str, entity: str, details: dict[str, Any] | None = None) -> AuditEntry:
        """Record one event. Details must be JSON and small; never put secrets or tokens in them."""
        entry = self._entry(uuid.uuid4().hex, self._clock(), actor, action, entity, details)
        self._insert(entry)
        return entry

    def append_once(
        self,
        event_key: str,
        occurred_at: dt.datetime,
        actor: str,
        action: str,
        entity: str,
        details: dict[str, Any] | None = None,
    ) -> bool:
        """Record an event exactly once however often it is retried: the row key is derived from `event_key` and
        `occurred_at` (both fixed by the thing audited, e.g. a request id and its created_at), and the insert of an
        existing key is "already audited". Returns whether this call wrote it."""
        entry_id = uuid.uuid5(_ONCE_NAMESPACE, event_key).hex
        try:
            self._insert(self._entry(entry_id, occurred_at, actor, action, entity, details))
        except AlreadyExists:
            return False
        return True

    @staticmethod
    def _entry(
        entry_id: str, when: dt.datetime, actor: str, action: str, entity: str, details: dict[str, Any] | None
    ) -> AuditEntry:
        serialized = json.dumps(details or {}, separators=(",", ":"), sort_keys=True, default=str)
        if len(serialized) > _MAX_DETAILS_CHARS:
            raise StorageError(f"audit details are {len(serialized)} characters; the limit is {_MAX_DETAILS_CHARS}")
        return AuditEntry(entry_id, when, actor, action, entity, json.loads(serialized))

    def _insert(self, entry: AuditEntry) -> None:
        serialized = json.dumps(entry.details, separators=(",", ":"), sort_keys=True, default=str)
        row = {
            "PartitionKey": month_key(entry.occurred_at),
            "RowKey": inverted_time_key(entry.occurred_at, entry.entry_id),
            "OccurredAt": entry.occurred_at,
            "Actor": entry.actor,
            "Action": entry.action,
            "Entity": entry.entity,
            "Details": serialized,
        }
        with translated(f"append audit entry {entry.action}"):
            self._table.create_entity(row)

    def list_month(self, month: str, page_size: int = 50, continuation: str | None = None) -> Page[AuditEntry]:
        """Entries of one month (`yyyymm`), newest first."""
        if not is_ascii_number(month, 6) or len(month) != 6:
            raise ValueError(f"month must be yyyymm, got {month!r}")
        return query_page(
            self._table,
            "PartitionKey eq @month",
            {"month": key(month, "month")},
            from_entity,
            page_size,
            continuation,
            "list audit entries",
        )
