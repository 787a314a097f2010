"""Table Storage persistence for durable instances (Azurite locally).

One partition per instance, so every checkpoint is a single atomic entity-group transaction:
- `meta`            the instance record (`InstanceState` minus history) + indexed columns for queries;
- `h-<exec>-<nnnnnn>` one row per episode with that episode's history events;
- `m-<time>-<seq>`  inbox messages (activity results, timer firings, external events, control requests).

A checkpoint replaces `meta` (If-Match on its ETag, so a second host on the same hub fails loudly instead of
corrupting state), inserts the episode row and deletes the messages it consumed. A crash before the commit
leaves the messages in place (they are delivered again); after it, they are gone: nothing completes twice.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.durable.history import Event
from devhost.durable.state import InstanceState, RuntimeStatus

META = "meta"
# Azure Table string properties hold 64 KiB (32K UTF-16 code units); larger JSON is split across columns.
CHUNK_CHARS = 30_000
MAX_CHUNKS = 30  # ~900K characters per row: under the 1 MiB entity limit with room for the other columns


class StoreError(Exception):
    """Persistence failed (the runtime retries the work item later)."""


class PayloadTooLarge(StoreError):
    """An episode's history or an instance record exceeds one entity (pass blob references, not data)."""


class ConcurrentWriter(StoreError):
    """The instance row changed under us: another devhost is serving the same task hub."""


@dataclass
class StoredMessage:
    instance_id: str
    key: str
    body: dict[str, Any]


@dataclass
class LoadedInstance:
    state: InstanceState
    etag: str
    messages: list[StoredMessage]


_sequence = itertools.count()


def _new_message_key() -> str:
    return f"m-{time.time_ns():020d}-{next(_sequence) % 1_000_000:06d}"


def _pack(text: str, prefix: str) -> dict[str, str]:
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise PayloadTooLarge(f"{len(text)} characters do not fit in one table row")
    return {f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}


def _unpack(entity: dict[str, Any], prefix: str) -> str:
    parts = []
    for i in itertools.count():
        part = entity.get(f"{prefix}{i}")
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


class DurableStore:
    def __init__(self, connection_string: str, table_name: str) -> None:
        self._table = TableClient.from_connection_string(connection_string, table_name=table_name)

    async def open(self) -> None:
        try:
            await self._table.create_table()
        except ResourceExistsError:
            pass

    async def close(self) -> None:
        await self._table.close()

    # ------------------------------------------------------------------ instances

    def _meta_entity(self, state: InstanceState) -> dict[str, Any]:
        return {
            "PartitionKey": state.instance_id,
            "RowKey": META,
            "Name": state.name,
            "RuntimeStatus": str(state.status),
            "CreatedTime": state.created_time,
            "LastUpdatedTime": state.last_updated_time,
            **_pack(state.to_json(), "State"),
        }

    async def create(self, state: InstanceState) -> str:
        """Insert a new instance (its first episode row comes with its first checkpoint). Raises on a duplicate."""
        try:
            meta = await self._table.create_entity(self._meta_entity(state))
        except ResourceExistsError:
            raise
        return meta["etag"]

    async def load(self, instance_id: str, with_history: bool = True) -> LoadedInstance | None:
        """The instance record, its current execution's history and its pending messages."""
        rows = [row async for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})]
        meta = next((r for r in rows if r["RowKey"] == META), None)
        if meta is None:
            return None
        state_json = _unpack(meta, "State")
        execution = json.loads(state_json)["execution_id"]
        history: list[Event] = []
        if with_history:
            prefix = f"h-{execution}-"
            for row in sorted((r for r in rows if r["RowKey"].startswith(prefix)), key=lambda r: r["RowKey"]):
                history.extend(json.loads(_unpack(row, "Events")))
        state = InstanceState.from_json(state_json, history)
        messages = [
            StoredMessage(instance_id, r["RowKey"], json.loads(_unpack(r, "Body")))
            for r in sorted(rows, key=lambda r: r["RowKey"])
            if r["RowKey"].startswith("m-")
        ]
        return LoadedInstance(state, meta.metadata["etag"], messages)

    async def commit(
        self,
        state: InstanceState,
        etag: str,
        episodes: Iterable[tuple[str, int, list[Event]]],
        consumed: Iterable[str],
    ) -> str:
        """Atomically: replace the record (If-Match), add episode rows, delete consumed messages. New ETag."""
        operations: list[Any] = [
            ("update", self._meta_entity(state), {"mode": UpdateMode.REPLACE, "etag": etag,
                                                   "match_condition": MatchConditions.IfNotModified}),
        ]  # fmt: skip
        for execution_id, episode, events in episodes:
            if not events:
                continue
            row = {"PartitionKey": state.instance_id, "RowKey": f"h-{execution_id}-{episode:06d}"}
            operations.append(("upsert", {**row, **_pack(json.dumps(events, separators=(",", ":")), "Events")}))
        operations.extend(("delete", {"PartitionKey": state.instance_id, "RowKey": key}) for key in consumed)
        if len(operations) > 100:
            raise StoreError(f"a checkpoint of {len(operations)} operations exceeds one table transaction")
        try:
            results = await self._table.submit_transaction(operations)
        except Exception as exc:  # TableTransactionError carries the failing operation; classify it
            if "UpdateConditionNotSatisfied" in str(exc) or "412" in str(exc):
                raise ConcurrentWriter(f"instance {state.instance_id} was changed by another writer") from exc
            raise StoreError(f"checkpoint of {state.instance_id} failed: {exc}") from exc
        return results[0]["etag"]

    async def put_message(self, instance_id: str, body: dict[str, Any]) -> StoredMessage:
        key = _new_message_key()
        await self._table.create_entity(
            {"PartitionKey": instance_id, "RowKey": key, **_pack(json.dumps(body, separators=(",", ":")), "Body")}
        )
        return StoredMessage(instance_id, key, body)

    async def delete_messages(self, instance_id: str, keys: Iterable[str]) -> None:
        for key in keys:
            try:
                await self._table.delete_entity(instance_id, key)
            except ResourceNotFoundError:
                pass

    async def purge(self, instance_id: str) -> int:
        """Delete every row of the instance; returns 1 if it existed."""
        keys = [
            row["RowKey"]
            async for row in self._table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": instance_id}, select=["RowKey"]
            )
        ]
        for start in range(0, len(keys), 100):
            batch = keys[start : start + 100]
            await self._table.submit_transaction(
                [("delete", {"PartitionKey": instance_id, "RowKey": k}) for k in batch]
            )
        return int(META in keys)

    async def delete_execution_history(self, instance_id: str, execution_id: str) -> None:
        """Best-effort cleanup of a finished execution's episode rows after continue-as-new."""
        prefix = f"h-{execution_id}-"
        keys = [
            row["RowKey"]
            async for row in self._table.query_entities(
                "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                parameters={"pk": instance_id, "lo": prefix, "hi": prefix + "~"},
                select=["RowKey"],
            )
        ]
        for start in range(0, len(keys), 100):
            batch = keys[start : start + 100]
            await self._table.submit_transaction(
                [("delete", {"PartitionKey": instance_id, "RowKey": k}) for k in batch]
            )

    # ------------------------------------------------------------------ queries

    async def query_records(
        self,
        statuses: Iterable[RuntimeStatus] | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        prefix: str | None = None,
    ) -> list[InstanceState]:
        """Instance records (no history) matching the filters, as the list API needs them."""
        clauses = ["RowKey eq @meta"]
        parameters: dict[str, Any] = {"meta": META}
        status_list = list(statuses or [])
        if status_list:
            ors = []
            for i, status in enumerate(status_list):
                parameters[f"s{i}"] = str(status)
                ors.append(f"RuntimeStatus eq @s{i}")
            clauses.append("( " + " or ".join(ors) + " )")
        if created_from:
            clauses.append("CreatedTime ge @cf")
            parameters["cf"] = created_from
        if created_to:
            clauses.append("CreatedTime le @ct")
            parameters["ct"] = created_to
        if prefix:
            clauses.append("PartitionKey ge @p1 and PartitionKey lt @p2")
            parameters["p1"] = prefix
            parameters["p2"] = prefix + "\uffff"
        query = " and ".join(clauses)
        return [
            InstanceState.from_json(_unpack(row, "State"), [])
            async for row in self._table.query_entities(query, parameters=parameters)
        ]

    async def all_messages(self) -> list[StoredMessage]:
        rows = self._table.query_entities("RowKey ge @lo and RowKey lt @hi", parameters={"lo": "m-", "hi": "m-~"})
        return [StoredMessage(r["PartitionKey"], r["RowKey"], json.loads(_unpack(r, "Body"))) async for r in rows]
