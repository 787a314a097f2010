"""The request workflow on devhost: the real orchestrator and activities (tests/integration/requests/
workflow_app.py, with stand-ins for the publish side), the real repositories on Azurite, the real durable client
(DurableWorkflow over DurableOrchestrationClient), a virtual clock, and a recording notifier at the seam."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

import services
from devhost.function_index import FunctionIndex, index_app
from greenlight.graph.client import GraphClient, open_graph_client
from greenlight.policy.directory import DirectoryCache
from greenlight.policy.service import PolicyService
from greenlight.requests.approvers import ConfiguredApprovers
from greenlight.settings import SANDBOX_TENANT_ID
from greenlight.storage import PolicyRepository, StorageAccount
from orchestrations.client import DurableWorkflow
from tests.integration.devhost.conftest import DurableHost, start_host
from tests.integration.requests import workflow_app
from tests.support.builders import sandbox_graph_settings
from tests.support.fakes import FakeCatalog, FakeDevices, RecordingNotifier

APPROVERS = ("bob-oid", "carol-oid")
PACKAGES = {
    "7zip.7zip": ["26.03", "24.09"],
    "Contoso.Fails": ["1.0"],
    "Contoso.Waiting": ["1.0"],
    "Contoso.Published": ["1.0"],
    "Contoso.GrantFails": ["1.0"],
}


@dataclass
class Workflows:
    host: DurableHost
    services: services.Services
    notifier: RecordingNotifier
    tenant: str

    def workflow(self) -> DurableWorkflow:
        return DurableWorkflow(self.host.client())


def sandbox_policies(
    account: StorageAccount, sandbox, approver_oids: Sequence[str], graph_tenant: str = SANDBOX_TENANT_ID
) -> PolicyService:
    """The real PolicyService: policies on Azurite, the directory on the sandbox's Graph (its tenant starts with
    the Playground's org: Alex reports to Megan; IT Approvers = Adele + IT Service Desk (Isaiah))."""
    settings = sandbox_graph_settings(sandbox, tenant_id=graph_tenant, client_id="greenlight-workflow", max_attempts=1)

    @asynccontextmanager
    async def graph() -> AsyncIterator[GraphClient]:
        async with open_graph_client(settings) as client:
            yield client

    return PolicyService(PolicyRepository(account), graph, DirectoryCache(), list(approver_oids), [])


@pytest.fixture(scope="session")
def workflow_index() -> FunctionIndex:
    return index_app(workflow_app.app)


@pytest.fixture
async def workflows(workflow_index: FunctionIndex, azurite, sandbox) -> AsyncIterator[Workflows]:
    account = StorageAccount.from_connection_string(azurite.connection_string)
    notifier = RecordingNotifier(list(APPROVERS))
    built = services.build(
        {"GREENLIGHT_ENV": "local", "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string},
        account=account,
        catalog=FakeCatalog(PACKAGES),
        devices=FakeDevices("x64"),
        approvers=ConfiguredApprovers(frozenset(APPROVERS)),
        notifier=lambda: notifier,
        policies=sandbox_policies(account, sandbox, APPROVERS),
    )
    previous = services.installed()
    services.set_services(built)
    host, server = await start_host(workflow_index, azurite.connection_string)
    try:
        yield Workflows(host, built, notifier, str(uuid.uuid4()))
    finally:
        await server.close()
        services.set_services(previous)  # as other suites left it
