"""Table Storage persistence for durable instances (Azurite locally).

One partition per instance, so every checkpoint is one atomic write (an entity-group transaction if needed):
- `meta`              the instance record (`InstanceState`), the current execution's recent history inline,
                      and indexed columns (status, name, times) for list queries;
- `h-<exec>-<nnnnnn>` archived history of a long execution (older events moved out of `meta`);
- `m-<time>-<seq>`    inbox messages from outside: external events and terminate/suspend/resume requests.

A checkpoint replaces `meta` (If-Match on its ETag, so a second host on the same hub fails loudly instead of
corrupting state) and deletes the messages it consumed. A crash before the commit leaves the messages in
place (they are delivered again); after it, they are gone, so nothing is delivered twice. Activity results,
timer firings and child results are not stored as messages: recovery re-derives them from the history.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.durable.history import Event
from devhost.durable.state import InstanceState, RuntimeStatus
from devhost.durable.table_rest import PreconditionFailed, TableRestClient

META = "meta"
# Azure Table string properties hold 64 KiB (32K UTF-16 code units); larger JSON is split across columns.
CHUNK_CHARS = 30_000
MAX_CHUNKS = 14  # per packed value: two of them (state + inline history) stay under the 1 MiB entity limit
INLINE_CHARS = 150_000  # inline history beyond this moves to an archive row


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
    persisted: bool = True  # False: an in-memory completion that a restart re-derives from history


def memory_message(instance_id: str, body: dict[str, Any]) -> StoredMessage:
    return StoredMessage(instance_id, _new_message_key(), body, persisted=False)


class Written(NamedTuple):
    """An instance row as written: its new ETag and the record JSON it holds (encoded once per checkpoint)."""

    etag: str
    record_json: str


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


def _is_loopback(connection_string: str) -> bool:
    text = connection_string.lower()
    return "usedevelopmentstorage=true" in text or "://127.0.0.1" in text or "://localhost" in text


class DurableStore:
    def __init__(self, connection_string: str, table_name: str) -> None:
        # Storage on loopback (Azurite) needs no proxy or .netrc, and with environment settings on, the SDK and
        # aiohttp look them up again on every request; a remote account keeps the environment's proxy settings.
        use_env = not _is_loopback(connection_string)
        transport = AioHttpTransport(use_env_settings=use_env)
        self._table = TableClient.from_connection_string(connection_string, table_name=table_name, transport=transport)
        # The hot writes (insert, conditional replace) skip the SDK's pipeline when the account key signs them.
        self._rest = TableRestClient.for_table(self._table.url, table_name, self._table.credential, use_env)

    async def open(self) -> None:
        try:
            await self._table.create_table()
        except ResourceExistsError:
            pass

    async def close(self) -> None:
        if self._rest is not None:
            await self._rest.close()
        await self._table.close()

    # ------------------------------------------------------------------ instances

    def _meta_entity(self, state: InstanceState, record_json: str, inline_json: str | None = None) -> dict[str, Any]:
        if inline_json is None:
            inline_json = state.history_json(state.archived_events)
        return {
            "PartitionKey": state.instance_id,
            "RowKey": META,
            "Name": state.name,
            "RuntimeStatus": str(state.status),
            "CreatedTime": state.created_time,
            "LastUpdatedTime": state.last_updated_time,
            **_pack(record_json, "State"),
            **_pack(inline_json, "Inline"),
        }

    async def create(self, state: InstanceState) -> Written:
        """Insert a new instance. Raises ResourceExistsError on a duplicate id."""
        record_json = state.to_json()
        entity = self._meta_entity(state, record_json)
        if self._rest is not None and self._rest.accepts(entity):
            return Written(await self._rest.insert(entity), record_json)
        meta = await self._table.create_entity(entity)
        return Written(meta["etag"], record_json)

    async def load(self, instance_id: str, with_history: bool = True) -> LoadedInstance | None:
        """The instance record, its current execution's history and its pending messages."""
        rows = [row async for row in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})]
        meta = next((r for r in rows if r["RowKey"] == META), None)
        if meta is None:
            return None
        state_json = _unpack(meta, "State")
        history: list[Event] = []
        if with_history:
            prefix = f"h-{json.loads(state_json)['execution_id']}-"
            for row in sorted((r for r in rows if r["RowKey"].startswith(prefix)), key=lambda r: r["RowKey"]):
                history.extend(json.loads(_unpack(row, "Events")))
            history.extend(json.loads(_unpack(meta, "Inline") or "[]"))
        state = InstanceState.from_json(state_json, history)
        messages = [
            StoredMessage(instance_id, r["RowKey"], json.loads(_unpack(r, "Body")))
            for r in sorted(rows, key=lambda r: r["RowKey"])
            if r["RowKey"].startswith("m-")
        ]
        return LoadedInstance(state, meta.metadata["etag"], messages)

    async def commit(self, state: InstanceState, etag: str, consumed: Iterable[str] = ()) -> Written:
        """Replace the record (If-Match on `etag`) and delete the consumed messages, atomically.

        The current execution's history rides inline in the record, so an ordinary checkpoint is a single
        entity write; when the inline part grows past INLINE_CHARS it moves to an archive row in the same
        entity-group transaction.
        """
        operations: list[Any] = []
        inline_json: str | None = state.history_json(state.archived_events)
        if len(inline_json) > INLINE_CHARS:
            row = {"PartitionKey": state.instance_id, "RowKey": f"h-{state.execution_id}-{state.archived_rows:06d}"}
            operations.append(("upsert", {**row, **_pack(inline_json, "Events")}))
            state.archived_events = len(state.history)
            state.archived_rows += 1
            inline_json = None  # the archived events left the record: its inline part is encoded afresh
        condition = {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        record_json = state.to_json()
        operations.insert(0, ("update", self._meta_entity(state, record_json, inline_json), condition))
        operations.extend(("delete", {"PartitionKey": state.instance_id, "RowKey": key}) for key in consumed)
        if len(operations) > 100:
            raise StoreError(f"a checkpoint of {len(operations)} operations exceeds one table transaction")
        try:
            if len(operations) == 1 and self._rest is not None and self._rest.accepts(operations[0][1]):
                return Written(await self._rest.replace(operations[0][1], etag), record_json)
            if len(operations) == 1:
                meta = await self._table.update_entity(operations[0][1], **condition)
                return Written(meta["etag"], record_json)
            results = await self._table.submit_transaction(operations)
        except PreconditionFailed as exc:
            raise ConcurrentWriter(f"instance {state.instance_id} was changed by another writer") from exc
        except Exception as exc:  # any storage failure is classified for the runtime to retry
            if "UpdateConditionNotSatisfied" in str(exc) or "412" in str(exc):
                raise ConcurrentWriter(f"instance {state.instance_id} was changed by another writer") from exc
            raise StoreError(f"checkpoint of {state.instance_id} failed: {exc}") from exc
        return Written(results[0]["etag"], record_json)

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
        # Only the record's columns: the inline history can be far bigger and a list never shows it.
        columns = ["PartitionKey", "RowKey", *(f"State{i}" for i in range(MAX_CHUNKS))]
        return [
            InstanceState.from_json(_unpack(row, "State"), [])
            async for row in self._table.query_entities(query, parameters=parameters, select=columns)
        ]

    async def all_messages(self) -> list[StoredMessage]:
        rows = self._table.query_entities("RowKey ge @lo and RowKey lt @hi", parameters={"lo": "m-", "hi": "m-~"})
        return [StoredMessage(r["PartitionKey"], r["RowKey"], json.loads(_unpack(r, "Body"))) async for r in rows]
