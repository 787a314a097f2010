"""Graph client fixtures against the sandbox over HTTPS, with tokens from its Entra stand-in through MSAL.

Each test gets its own tenant id: the sandbox keeps state and fault switches per tenant (the token's `tid`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from greenlight.graph.client import GraphClient, open_graph_client, tls_context
from greenlight.graph.settings import GraphSettings
from tests.support.builders import sandbox_graph_settings
from tests.support.sandbox_tenant import SandboxTenant


@pytest.fixture
def tenant_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def graph_settings(sandbox: Any, tenant_id: str) -> GraphSettings:
    return sandbox_graph_settings(sandbox, tenant_id=tenant_id, client_id="greenlight-tests", max_attempts=10)


@pytest.fixture
async def graph(graph_settings: GraphSettings) -> AsyncIterator[GraphClient]:
    async with open_graph_client(graph_settings) as client:
        yield client


@pytest.fixture
async def blob_http(sandbox: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=tls_context(str(sandbox.ca_file)), timeout=60) as client:
        yield client


@pytest.fixture
def sandbox_control(sandbox: Any, tenant_id: str) -> SandboxTenant:
    """Fault switches and state of this test's tenant (the sandbox's local test endpoints)."""
    return SandboxTenant(sandbox, tenant_id)
