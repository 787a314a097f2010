"""Submitting a request, once, whichever door it came through.

The request id is uuid5 over (tenant, caller, client key): the bot's form message id or the API's
Idempotency-Key, so a Teams retry, a double click or a retried POST finds the row the first attempt created.
Without a key the id is random. The row is written first, then its audit entry (insert-only under a key derived
from the request id and its created_at), then the workflow is started (an existing instance is fine). A crash
or failure after any step is repaired by the retry: the same id, the same audit key, the same instance id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from greenlight.models import Request, RequestStatus

REQUEST_NAMESPACE = uuid.UUID("0c6b8a53-55a4-4f4c-9f0e-6f1d3f3b8a11")  # the bot's, kept: its ids stay valid


@dataclass(frozen=True)
class SubmitRequest:
    """What a door hands in (already authenticated: `caller_oid` is who called, `requester_*` whom it is for)."""

    tenant_id: str
    caller_oid: str
    requester_oid: str
    requester_name: str
    package_id: str
    justification: str
    package_version: str | None = None
    architecture: str | None = None  # None: from the requester's Intune devices
    scope: str | None = None
    client_key: str | None = None  # form message id / Idempotency-Key
    via: str = "api"  # "teams" or "api", for the audit


@dataclass(frozen=True)
class Submission:
    request: Request
    created: bool  # False: an earlier attempt with the same key created it


def request_id_for(tenant_id: str, caller_oid: str, client_key: str | None) -> str:
    if not client_key:
        return uuid.uuid4().hex
    return uuid.uuid5(REQUEST_NAMESPACE, f"{tenant_id}|{caller_oid}|{client_key}").hex


def fingerprint(command: SubmitRequest, *, package_id: str, version: str | None, justification: str) -> str:
    """What was asked, as given (after normalisation): a retry must ask exactly the same."""
    fields = [
        package_id.lower(),
        version,
        justification,
        command.architecture,
        command.scope or "machine",
        command.requester_oid.lower(),
    ]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def new_request(
    command: SubmitRequest,
    *,
    request_id: str,
    package_id: str,
    version: str,
    architecture: str,
    justification: str,
    requester_name: str,
    digest: str,
) -> Request:
    return Request(
        tenant_id=command.tenant_id,
        request_id=request_id,
        requester_oid=command.requester_oid.lower(),
        requester_name=requester_name,
        package_id=package_id,
        package_version=version,
        architecture=architecture,
        scope=command.scope or "machine",
        justification=justification,
        status=RequestStatus.SUBMITTED,
        submitted_by=command.caller_oid.lower(),
        fingerprint=digest,
    )
