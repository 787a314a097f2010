"""PolicyService.plan end to end: the Policies table on Azurite, the directory on the sandbox's Graph."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from greenlight.graph.client import GraphClient, open_graph_client
from greenlight.models import Policy
from greenlight.policy import DirectoryUnavailable, parse_policy
from greenlight.policy.admin import canonical
from greenlight.policy.directory import DirectoryCache
from greenlight.policy.service import PolicyService
from greenlight.storage import PolicyRepository
from tests.support.builders import a_request, sandbox_graph_settings
from tests.support.fakes import DictDirectory, FakePolicies


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def tenant_id() -> str:
    return new_id()


@pytest.fixture
def service(account, sandbox, tenant_id):
    settings = sandbox_graph_settings(sandbox, tenant_id=tenant_id, client_id="greenlight-policy-tests", max_attempts=2)

    @asynccontextmanager
    async def graph() -> AsyncIterator[GraphClient]:
        async with open_graph_client(settings) as client:
            yield client

    def org(**body) -> None:
        url = f"{sandbox.graph_url}/_sandbox/directory"
        httpx.post(url, json={"tenant": tenant_id, **body}, verify=str(sandbox.ca_file)).raise_for_status()

    def faults(**switches) -> None:
        url = f"{sandbox.graph_url}/_sandbox/faults"
        httpx.post(url, json={"tenant": tenant_id, **switches}, verify=str(sandbox.ca_file)).raise_for_status()

    built = PolicyService(
        PolicyRepository(account), graph, DirectoryCache(), ["a0000000-0000-4000-8000-0000000000c1"], []
    )
    built.org, built.faults = org, faults  # type: ignore[attr-defined]
    return built


def save(account, tenant_id: str, package_id: str, document: dict) -> None:
    PolicyRepository(account).create(Policy(tenant_id, package_id, canonical(document)))


async def test_each_outcome_is_a_json_result(service, account, tenant_id) -> None:
    requester, manager = new_id(), new_id()
    service.org(managers={requester: manager})
    request = a_request(tenant_id=tenant_id, requester_oid=requester, package_id="Contoso.App")
    default = await service.plan(request)
    assert default["outcome"] == "approval" and default["stages"][0]["approvers"] == [
        "a0000000-0000-4000-8000-0000000000c1"
    ]

    save(
        account, tenant_id, "*", {"stages": [{"name": "Manager", "approvers": {"manager": True, "users": [new_id()]}}]}
    )
    planned = await service.plan(request)
    assert json.loads(json.dumps(planned)) == planned
    assert planned["stages"][0]["approvers"] == [manager] and planned["stages"][0]["source"] == "manager"

    save(account, tenant_id, "Contoso.App", {"blocked": True})
    assert (await service.plan(request))["outcome"] == "blocked"
    save(account, tenant_id, "Contoso.Self", {"stages": [{"name": "Self", "approvers": {"users": [requester]}}]})
    nobody = await service.plan(a_request(tenant_id=tenant_id, requester_oid=requester, package_id="Contoso.Self"))
    assert (nobody["outcome"], nobody["stage_name"]) == ("no_approvers", "Self")


async def test_an_outage_raises_so_the_activity_is_retried(service, account, tenant_id) -> None:
    save(
        account, tenant_id, "*", {"stages": [{"name": "Manager", "approvers": {"manager": True, "users": [new_id()]}}]}
    )
    service.faults(unavailable_every=1)
    with pytest.raises(DirectoryUnavailable):
        await service.plan(a_request(tenant_id=tenant_id))


async def test_too_many_approvers_is_an_outcome_and_the_unit_tests_fake_gives_the_same(
    service, account, tenant_id
) -> None:
    requester, big, small = new_id(), new_id(), new_id()
    members = {big: {new_id() for _ in range(101)}, small: {new_id() for _ in range(3)}}
    service.org(groups=[{"id": g, "members": sorted(m)} for g, m in members.items()])
    document = {"stages": [{"name": "Small", "approvers": {"groups": [small]}}],
                "escalate_after_hours": 24, "escalate_to": {"groups": [big]}}  # fmt: skip
    save(account, tenant_id, "*", document)
    request = a_request(tenant_id=tenant_id, requester_oid=requester)
    refused = await service.plan(request)
    assert {k: refused[k] for k in ("outcome", "stage_index", "count", "limit")} == {
        "outcome": "too_many_approvers", "stage_index": None, "count": 101, "limit": 100}  # fmt: skip
    assert refused["reason"].startswith("escalate_to would ask 101 people")
    fake = FakePolicies({"*": parse_policy(document)}, DictDirectory(members=members))
    assert await fake.plan(request) == refused


async def test_size_warnings_never_fail_a_save_and_cost_nothing_without_groups(service, tenant_id) -> None:
    big, other = new_id(), new_id()
    service.org(groups=[{"id": g, "members": [new_id() for _ in range(101)]} for g in (big, other)])
    users_only = canonical({"stages": [{"name": "A", "approvers": {"users": [new_id()]}}]})
    with_group = canonical({"stages": [{"name": "A", "approvers": {"groups": [big]}}]})
    assert (await service.size_warnings(with_group))[0].startswith("stages[0].approvers: its users and groups hold 101")
    service.faults(unavailable_every=1)
    assert await service.size_warnings(users_only) == []  # no Graph call, so the outage does not matter
    not_cached = canonical({"stages": [{"name": "A", "approvers": {"groups": [other]}}]})  # over the bound too
    (warning,) = await service.size_warnings(not_cached)
    assert warning.startswith("the groups' sizes could not be checked now (")
