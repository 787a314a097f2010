"""Publications table: one row per (package, version, architecture, scope) being or having been published.

PartitionKey = package id, RowKey = `version|arch|scope` (as PublishedApps). The first claim inserts the row and
owns the publication; later claims read it and, with the row's ETag, either join its waiters or — after a
failure — take it over as a new attempt. A lost race is a 409/412 and the loser re-reads, so two claims at once
always end with exactly one owner.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from azure.core import MatchConditions

from greenlight.models import Versioned, utc_now
from greenlight.storage.account import PUBLICATIONS_TABLE, StorageAccount
from greenlight.storage.errors import NotFound
from greenlight.storage.keys import etag_of, key, translated, without_none
from greenlight.storage.published_apps import row_key

PUBLISHING, PUBLISHED, FAILED = "publishing", "published", "failed"


@dataclass(frozen=True)
class PublicationKey:
    package_id: str
    version: str
    architecture: str
    scope: str

    @property
    def id(self) -> str:
        """The publication id the contract passes around: `package|version|arch|scope`."""
        return "|".join((self.package_id, row_key(self.version, self.architecture, self.scope)))

    @classmethod
    def parse(cls, publication_id: str) -> PublicationKey:
        parts = publication_id.split("|")
        if len(parts) != 4 or not all(parts):
            raise ValueError(f"not a publication id: {publication_id!r}")
        return cls(*parts)

    def digest(self) -> str:
        return hashlib.sha256(self.id.encode()).hexdigest()[:16]

    def instance_id(self, attempt: int) -> str:
        """The publish sub-orchestration's id: deterministic per key and attempt."""
        return f"pub-{self.digest()}-{attempt}"

    def staging_prefix(self, attempt: int) -> str:
        return f"publications/{self.digest()}/{attempt}"


@dataclass(frozen=True)
class Publication:
    key: PublicationKey
    state: str
    attempt: int
    owner: tuple[str, str]  # (tenant_id, request_id) of the request that started this attempt
    waiters: tuple[tuple[str, str], ...] = ()  # every request waiting for it (the owner included)
    app_id: str | None = None
    group_id: str | None = None
    error: dict[str, str] | None = None
    updated_at: Any = field(default_factory=utc_now)


def _to_entity(p: Publication) -> dict[str, Any]:
    return without_none(
        {
            "PartitionKey": key(p.key.package_id, "package id"),
            "RowKey": row_key(p.key.version, p.key.architecture, p.key.scope),
            "State": p.state,
            "Attempt": p.attempt,
            "OwnerTenant": p.owner[0],
            "OwnerRequest": p.owner[1],
            "Waiters": json.dumps([list(w) for w in p.waiters]),
            "AppId": p.app_id,
            "GroupId": p.group_id,
            "ErrorCode": p.error["code"] if p.error else None,
            "ErrorMessage": p.error["message"][:4000] if p.error else None,
            "UpdatedAt": utc_now(),
        }
    )


def _from_entity(entity: Any) -> Publication:
    version, architecture, scope = entity["RowKey"].split("|")
    error = None
    if entity.get("ErrorCode"):
        error = {"code": entity["ErrorCode"], "message": entity.get("ErrorMessage", "")}
    return Publication(
        key=PublicationKey(entity["PartitionKey"], version, architecture, scope),
        state=entity["State"],
        attempt=int(entity["Attempt"]),
        owner=(entity["OwnerTenant"], entity["OwnerRequest"]),
        waiters=tuple(tuple(w) for w in json.loads(entity.get("Waiters") or "[]")),  # type: ignore[misc]
        app_id=entity.get("AppId"),
        group_id=entity.get("GroupId"),
        error=error,
        updated_at=entity.get("UpdatedAt"),
    )


class PublicationRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(PUBLICATIONS_TABLE)

    def insert(self, publication: Publication) -> Versioned[Publication]:
        """Insert-only; AlreadyExists when someone else claimed the key first."""
        with translated(f"claim publication {publication.key.id}"):
            result = self._table.create_entity(_to_entity(publication))
        return Versioned(publication, etag_of(result))

    def get(self, key_: PublicationKey) -> Versioned[Publication] | None:
        try:
            with translated(f"read publication {key_.id}"):
                entity = self._table.get_entity(
                    key(key_.package_id, "package id"), row_key(key_.version, key_.architecture, key_.scope)
                )
        except NotFound:
            return None
        return Versioned(_from_entity(entity), entity.metadata["etag"])

    def update(self, current: Versioned[Publication], changed: Publication) -> Versioned[Publication]:
        """Replace with If-Match: ConcurrencyConflict when the row changed since `current` was read."""
        with translated(f"update publication {changed.key.id}"):
            result = self._table.update_entity(
                _to_entity(changed), mode="replace", etag=current.etag, match_condition=MatchConditions.IfNotModified
            )
        return Versioned(changed, etag_of(result))

    def modify(self, key_: PublicationKey, change: Any, attempts: int = 20) -> Publication:
        """Read, apply the pure `change(publication) -> publication | None`, write with the ETag; re-read on a
        conflict. None from `change` means nothing to write."""
        from greenlight.storage.errors import ConcurrencyConflict

        for _ in range(attempts):
            current = self.get(key_)
            if current is None:
                raise NotFound(f"publication {key_.id}: not found")
            changed = change(current.value)
            if changed is None:
                return current.value
            try:
                return self.update(current, replace(changed, updated_at=utc_now())).value
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"publication {key_.id}: too many concurrent changes")
