"""Requests table: PartitionKey = tenant, RowKey = request id. Updates are conditional on the ETag read.

The approval plan's JSON can pass one property's 32K-character limit (10 stages of up to 100 approvers each, plus
the escalation list): it is stored across `Plan`, `Plan1`, `Plan2`… (greenlight.storage.columns) and joined when
read; a row with a single `Plan` (written before) reads the same. Every write replaces the whole row.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import UpdateMode

from greenlight.models import Request, RequestStatus, Versioned, utc_now
from greenlight.storage.account import REQUESTS_TABLE, StorageAccount
from greenlight.storage.columns import joined_text, split_text
from greenlight.storage.errors import ConcurrencyConflict
from greenlight.storage.keys import as_utc, etag_of, key, translated, without_none
from greenlight.storage.paging import Page, query_page


def to_entity(request: Request) -> dict[str, Any]:
    plan = split_text("Plan", json.dumps(request.plan, separators=(",", ":"))) if request.plan else {}
    return without_none(
        {
            "PartitionKey": key(request.tenant_id, "tenant id"),
            "RowKey": key(request.request_id, "request id"),
            "RequesterOid": request.requester_oid,
            "RequesterName": request.requester_name,
            "PackageId": request.package_id,
            "PackageVersion": request.package_version,
            "Architecture": request.architecture,
            "Scope": request.scope,
            "Justification": request.justification,
            "Status": str(request.status),
            "Stage": request.stage,
            "CreatedAt": request.created_at,
            "UpdatedAt": request.updated_at,
            "Error": request.error,
            "AppId": request.app_id,
            "ErrorCode": request.error_code,
            "Progress": json.dumps(request.progress, separators=(",", ":")) if request.progress else None,
            "SubmittedBy": request.submitted_by,
            "Fingerprint": request.fingerprint,
            "Escalated": request.escalated or None,
            **plan,
        }
    )


def from_entity(entity: Any) -> Request:
    return Request(
        tenant_id=entity["PartitionKey"],
        request_id=entity["RowKey"],
        requester_oid=entity["RequesterOid"],
        requester_name=entity.get("RequesterName", ""),
        package_id=entity["PackageId"],
        package_version=entity.get("PackageVersion"),
        architecture=entity.get("Architecture", ""),
        scope=entity.get("Scope", ""),
        justification=entity.get("Justification", ""),
        status=RequestStatus(entity["Status"]),
        stage=int(entity.get("Stage", 0)),
        created_at=as_utc(entity["CreatedAt"]),
        updated_at=as_utc(entity["UpdatedAt"]),
        error=entity.get("Error"),
        app_id=entity.get("AppId"),
        error_code=entity.get("ErrorCode"),
        progress=json.loads(entity["Progress"]) if entity.get("Progress") else None,
        submitted_by=entity.get("SubmittedBy"),
        fingerprint=entity.get("Fingerprint"),
        plan=json.loads(plan) if (plan := joined_text(entity, "Plan")) else None,
        escalated=bool(entity.get("Escalated", False)),
    )


class RequestRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(REQUESTS_TABLE)

    def create(self, request: Request) -> Versioned[Request]:
        """Insert a new request; raises AlreadyExists if the id is taken (a retried create never duplicates)."""
        with translated(f"create request {request.request_id}"):
            result = self._table.create_entity(to_entity(request))
        return Versioned(request, etag_of(result))

    def get(self, tenant_id: str, request_id: str) -> Versioned[Request]:
        with translated(f"read request {request_id}"):
            entity = self._table.get_entity(key(tenant_id, "tenant id"), key(request_id, "request id"))
        return Versioned(from_entity(entity), etag_of(entity))

    def update(self, request: Request | Versioned[Request], etag: str | None = None) -> Versioned[Request]:
        """Replace the row only if it still has `etag` (default: the Versioned's own); raises ConcurrencyConflict
        when someone else changed it since, NotFound when it is gone. Stamps `updated_at`."""
        if isinstance(request, Versioned):
            etag = etag or request.etag
            request = request.value
        if not etag:
            raise ValueError("update needs the ETag the request was read with")
        changed = dataclasses.replace(request, updated_at=utc_now())
        with translated(f"update request {request.request_id}"):
            result = self._table.update_entity(
                to_entity(changed), mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return Versioned(changed, etag_of(result))

    def modify(
        self, tenant_id: str, request_id: str, change: Callable[[Request], Request | None], attempts: int = 5
    ) -> Versioned[Request]:
        """Read, apply `change`, write back under the ETag; on a conflict re-read and re-apply (so `change` must be
        a pure function of the request it is given). `change` returning None means "nothing to do". Raises
        ConcurrencyConflict if every attempt lost a race."""
        for _ in range(attempts):
            current = self.get(tenant_id, request_id)
            changed = change(current.value)
            if changed is None or changed == current.value:
                return current
            if (changed.tenant_id, changed.request_id) != (tenant_id, request_id):
                raise ValueError("a change must not alter the request's keys")
            try:
                return self.update(changed, current.etag)
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"request {request_id} kept changing; gave up after {attempts} attempts")

    def list_by_requester(
        self, tenant_id: str, requester_oid: str, page_size: int = 20, continuation: str | None = None
    ) -> Page[Request]:
        return query_page(
            self._table,
            "PartitionKey eq @tenant and RequesterOid eq @oid",
            {"tenant": key(tenant_id, "tenant id"), "oid": requester_oid},
            from_entity,
            page_size,
            continuation,
            "list requests by requester",
        )

    def list_by_status(
        self, tenant_id: str, status: RequestStatus, page_size: int = 20, continuation: str | None = None
    ) -> Page[Request]:
        return query_page(
            self._table,
            "PartitionKey eq @tenant and Status eq @status",
            {"tenant": key(tenant_id, "tenant id"), "status": str(RequestStatus(status))},
            from_entity,
            page_size,
            continuation,
            "list requests by status",
        )
