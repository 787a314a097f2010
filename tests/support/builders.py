"""Test data builders shared by several suites: one place that knows a valid Request and sandbox Graph settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.models import Request, RequestStatus
from greenlight.settings import Secret


def a_request(**changes: Any) -> Request:
    """A 7-Zip request from a fresh tenant and requester, pending approval; override any field."""
    request = Request(
        tenant_id=str(uuid.uuid4()),
        request_id=uuid.uuid4().hex,
        requester_oid=str(uuid.uuid4()),
        requester_name="Requester",
        package_id="7zip.7zip",
        package_version="26.03",
        architecture="x64",
        scope="machine",
        justification="archives",
        status=RequestStatus.PENDING_APPROVAL,
        created_at=dt.datetime.now(dt.UTC),
    )
    return dataclasses.replace(request, **changes)


def sandbox_graph_settings(sandbox: Any, *, tenant_id: str, client_id: str, max_attempts: int) -> GraphSettings:
    """Graph through the sandbox with MSAL's client-secret flow, trusting the sandbox CA."""
    return GraphSettings(
        tenant_id=tenant_id,
        graph_url=sandbox.graph_url,
        authority_host=sandbox.entra_url,
        auth_mode=GraphAuthMode.CLIENT_SECRET,
        client_id=client_id,
        client_secret=Secret("GREENLIGHT_GRAPH_CLIENT_SECRET", literal="sandbox-secret"),
        certificate_pem=None,
        ca_bundle=str(sandbox.ca_file),
        allow_http_loopback=False,
        max_attempts=max_attempts,
    )
