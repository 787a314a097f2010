"""Policies table: PartitionKey = tenant, RowKey = package id or `*` (the tenant default). ETag-guarded edits."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import UpdateMode

from greenlight.models import Policy, Versioned, utc_now
from greenlight.storage.account import POLICIES_TABLE, StorageAccount
from greenlight.storage.errors import NotFound, StorageError
from greenlight.storage.keys import as_utc, etag_of, key, translated

DEFAULT_POLICY_KEY = "*"
_MAX_DOCUMENT_CHARS = 32_000


def to_entity(policy: Policy) -> dict[str, Any]:
    document = json.dumps(policy.document, separators=(",", ":"), sort_keys=True)
    if len(document) > _MAX_DOCUMENT_CHARS:
        raise StorageError(f"policy document is {len(document)} characters; the limit is {_MAX_DOCUMENT_CHARS}")
    return {
        "PartitionKey": key(policy.tenant_id, "tenant id"),
        "RowKey": key(policy.package_id, "package id"),
        "Document": document,
        "UpdatedAt": policy.updated_at,
    }


def from_entity(entity: Any) -> Policy:
    return Policy(
        tenant_id=entity["PartitionKey"],
        package_id=entity["RowKey"],
        document=json.loads(entity["Document"]),
        updated_at=as_utc(entity["UpdatedAt"]),
    )


class PolicyRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(POLICIES_TABLE)

    def create(self, policy: Policy) -> Versioned[Policy]:
        with translated(f"create policy {policy.package_id}"):
            result = self._table.create_entity(to_entity(policy))
        return Versioned(policy, etag_of(result))

    def get(self, tenant_id: str, package_id: str) -> Versioned[Policy] | None:
        try:
            with translated(f"read policy {package_id}"):
                entity = self._table.get_entity(key(tenant_id, "tenant id"), key(package_id, "package id"))
        except NotFound:
            return None
        return Versioned(from_entity(entity), etag_of(entity))

    def effective(self, tenant_id: str, package_id: str) -> Versioned[Policy] | None:
        """The package's own policy, else the tenant default (`*`), else None."""
        return self.get(tenant_id, package_id) or self.get(tenant_id, DEFAULT_POLICY_KEY)

    def replace(self, policy: Policy, etag: str) -> Versioned[Policy]:
        """Replace only if unchanged since read (ConcurrencyConflict otherwise): two admins never lose an edit."""
        changed = dataclasses.replace(policy, updated_at=utc_now())
        with translated(f"update policy {policy.package_id}"):
            result = self._table.update_entity(
                to_entity(changed), mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return Versioned(changed, etag_of(result))

    def delete(self, tenant_id: str, package_id: str, etag: str) -> None:
        with translated(f"delete policy {package_id}"):
            self._table.delete_entity(
                key(tenant_id, "tenant id"),
                key(package_id, "package id"),
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )

    def list(self, tenant_id: str) -> list[Versioned[Policy]]:
        with translated("list policies"):
            entities = list(
                self._table.query_entities("PartitionKey eq @tid", parameters={"tid": key(tenant_id, "tenant id")})
            )
        return [Versioned(from_entity(e), etag_of(e)) for e in entities]
