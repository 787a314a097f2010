"""The policy's directory lookups through the real Graph client against the sandbox's Graph over HTTPS.

Each test has a tenant of its own and sets up its org through the sandbox's /_sandbox/directory; the Playground
org is seeded in the sandbox tenant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from greenlight.graph.client import GraphClient, open_graph_client
from greenlight.graph.errors import GraphNotFound
from greenlight.graph.settings import GraphSettings
from greenlight.graph.urls import DIRECTORY_API
from greenlight.policy import DirectoryUnavailable, Rule, TooManyApprovers, parse_policy, plan_for
from greenlight.policy.directory import (
    NAMES_REST_AFTER_FAILURE_SECONDS,
    DirectoryCache,
    DirectoryNames,
    GraphDirectory,
)
from greenlight.policy.model import MEMBER_READ_LIMIT
from greenlight.settings import SANDBOX_TENANT_ID
from sandbox.graph.directory import ADELE, ALEX, ISAIAH, IT_APPROVERS_GROUP, LYNNE, MEGAN, PATTI
from tests.support.builders import a_request, sandbox_graph_settings
from tests.support.sandbox_tenant import SandboxTenant


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def tenant_id() -> str:
    return new_id()


def settings_for(sandbox: Any, tenant_id: str) -> GraphSettings:
    return sandbox_graph_settings(sandbox, tenant_id=tenant_id, client_id="greenlight-policy-tests", max_attempts=2)


@pytest.fixture
async def graph(sandbox: Any, tenant_id: str) -> AsyncIterator[GraphClient]:
    async with open_graph_client(settings_for(sandbox, tenant_id)) as client:
        yield client


@pytest.fixture
def control(sandbox: Any, tenant_id: str) -> SandboxTenant:
    return SandboxTenant(sandbox, tenant_id)


async def test_the_manager_is_read_and_a_user_without_one_has_none(graph, control) -> None:
    employee, boss, loner = new_id(), new_id(), new_id()
    control.org(managers={employee: boss})
    directory = GraphDirectory(graph)
    assert await directory.manager_of(employee) == boss
    assert await directory.manager_of(loner) is None  # Graph's 404 means "no manager", not a failure


async def test_transitive_members_span_nested_groups_and_every_page(graph, control) -> None:
    outer, inner, people = new_id(), new_id(), [new_id() for _ in range(5)]
    control.org(
        users=[{"id": p} for p in people],
        groups=[{"id": outer, "members": [people[0], inner]}, {"id": inner, "members": [*people[1:], outer]}],
    )
    assert await GraphDirectory(graph, page_size=2).group_members(outer) == frozenset(people)


async def test_members_of_a_group_greenlight_created_count_too(graph) -> None:
    member = new_id()
    body = {"displayName": "g", "mailNickname": "g", "mailEnabled": False, "securityEnabled": True}
    group = await graph.post("groups", body, version=DIRECTORY_API)
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{member}"}
    await graph.post(f"groups/{group['id']}/members/$ref", ref, version=DIRECTORY_API)
    assert await GraphDirectory(graph).group_members(group["id"]) == {member}


async def test_a_huge_group_is_read_only_as_far_as_the_member_read_limit(graph, control) -> None:
    """5,000 members at 999 a page: two pages answer "more than the limit"; the other four are never asked for."""
    group = new_id()
    control.org(groups=[{"id": group, "members": [new_id() for _ in range(5000)]}])
    calls = control.calls()
    members = await GraphDirectory(graph).group_members(group)
    assert len(members) == MEMBER_READ_LIMIT + 1
    assert control.calls() - calls == 2
    request = a_request(requester_oid=new_id())
    policy = parse_policy({"stages": [{"name": "Everyone", "approvers": {"groups": [group]}}]})
    with pytest.raises(TooManyApprovers, match=f"would ask more than {MEMBER_READ_LIMIT} people"):
        await plan_for(request, policy, GraphDirectory(graph))


async def test_membership_is_checked_transitively_across_more_groups_than_one_call_takes(graph, control) -> None:
    user, parent, child = new_id(), new_id(), new_id()
    others = [new_id() for _ in range(22)]
    control.org(groups=[{"id": parent, "members": [child]}, {"id": child, "members": [user]}])
    control.org(groups=[{"id": g, "members": []} for g in others])
    directory = GraphDirectory(graph)
    assert await directory.member_groups(user, [*others, parent]) == {parent}
    assert await directory.member_groups(user, [*others, child, parent]) == {parent, child}


async def test_answers_are_cached_until_the_ttl_passes(graph, control) -> None:
    employee, first, second = new_id(), new_id(), new_id()
    control.org(managers={employee: first})
    now = [0.0]
    directory = GraphDirectory(graph, DirectoryCache(ttl_seconds=60, clock=lambda: now[0]))
    assert await directory.manager_of(employee) == first
    calls = control.calls()
    control.org(managers={employee: second})
    assert await directory.manager_of(employee) == first
    assert control.calls() == calls  # served from the cache
    now[0] = 61.0
    assert await directory.manager_of(employee) == second


async def test_a_graph_outage_fails_closed_for_every_lookup(graph, control) -> None:
    employee, group = new_id(), new_id()
    control.org(managers={employee: new_id()}, groups=[{"id": group, "members": [employee]}])
    control.faults(unavailable_every=1)
    directory = GraphDirectory(graph)
    with pytest.raises(DirectoryUnavailable):
        await directory.manager_of(employee)
    with pytest.raises(DirectoryUnavailable):
        await directory.group_members(group)
    with pytest.raises(DirectoryUnavailable):
        await directory.member_groups(employee, [group])


async def test_an_outage_makes_no_plan_where_a_group_would_auto_approve(graph, control) -> None:
    requester, group = new_id(), new_id()
    control.org(groups=[{"id": group, "members": [requester]}])
    policy = parse_policy(
        {"auto_approve": {"requester_groups": [group]}, "stages": [{"name": "A", "approvers": {"users": [new_id()]}}]}
    )
    request = a_request(requester_oid=requester)
    assert (await plan_for(request, policy, GraphDirectory(graph))).outcome == "auto_approved"
    control.faults(unavailable_every=1)
    with pytest.raises(DirectoryUnavailable):
        await plan_for(request, policy, GraphDirectory(graph))  # a fresh cache: Graph must answer, and cannot


async def test_a_deleted_approver_group_fails_closed_instead_of_dropping_the_stage(graph) -> None:
    with pytest.raises(DirectoryUnavailable):
        await GraphDirectory(graph).group_members(new_id())


async def test_the_playground_org_runs_the_manager_then_it_all_policy(sandbox) -> None:
    policy = parse_policy(
        {
            "stages": [
                {"name": "Manager", "approvers": {"manager": True, "groups": [IT_APPROVERS_GROUP]}},
                {"name": "IT", "approvers": {"groups": [IT_APPROVERS_GROUP]}, "rule": "all"},
            ]
        }
    )
    async with open_graph_client(settings_for(sandbox, SANDBOX_TENANT_ID)) as graph:
        plan = await plan_for(a_request(requester_oid=ALEX), policy, GraphDirectory(graph))
    manager, it = plan.stages
    assert (manager.approvers, manager.source) == ((MEGAN,), "manager")
    assert (it.approvers, it.rule) == (tuple(sorted({ADELE, ISAIAH})), Rule.ALL)  # Isaiah through the nested group


# ---------------------------------------------------------------- display names (the bot's stage lines)


def names_for(sandbox: Any, tenant_id: str, cache: DirectoryCache | None = None, clock: Any = None) -> DirectoryNames:
    factory = lambda: open_graph_client(settings_for(sandbox, tenant_id))  # noqa: E731
    return DirectoryNames(factory, cache) if clock is None else DirectoryNames(factory, cache, clock=clock)


async def test_the_sandbox_answers_a_user_with_the_selected_properties_and_404_for_a_stranger(graph, control) -> None:
    person = new_id()
    control.org(users=[{"id": person, "displayName": "Pat Doe"}])
    whole = await graph.get(f"users/{person}", version=DIRECTORY_API)
    assert whole.pop("@odata.context").endswith("/$metadata#users/$entity")
    assert whole == {"id": person, "displayName": "Pat Doe"}
    selected = await graph.get(f"users/{person}", params={"$select": "displayName"}, version=DIRECTORY_API)
    assert selected.pop("@odata.context").endswith("/$metadata#users(displayName)/$entity")
    assert selected == {"displayName": "Pat Doe"}
    with pytest.raises(GraphNotFound) as stranger:
        await graph.get(f"users/{new_id()}", params={"$select": "displayName"}, version=DIRECTORY_API)
    assert stranger.value.code == "Request_ResourceNotFound"


async def test_display_names_are_read_and_a_stranger_has_none(graph, control) -> None:
    person = new_id()
    control.org(users=[{"id": person, "displayName": "Pat Doe"}])
    directory = GraphDirectory(graph)
    assert await directory.display_name(person) == "Pat Doe"
    assert await directory.display_name(new_id()) is None  # Graph's 404: no such user, not a failure


async def test_the_playground_people_have_their_display_names(sandbox) -> None:
    names = await names_for(sandbox, SANDBOX_TENANT_ID).display_names([ALEX, MEGAN, ADELE, ISAIAH, PATTI, LYNNE])
    assert names == {
        ALEX: "Alex Wilber",
        MEGAN: "Megan Bowen",
        ADELE: "Adele Vance",
        ISAIAH: "Isaiah Langer",
        PATTI: "Patti Fernandez",
        LYNNE: "Lynne Robbins",
    }


async def test_display_names_are_cached_strangers_too_and_a_cached_batch_makes_no_call(
    sandbox, tenant_id, control
) -> None:
    person, stranger = new_id(), new_id()
    control.org(users=[{"id": person, "displayName": "Pat Doe"}])
    directory = names_for(sandbox, tenant_id, DirectoryCache(ttl_seconds=60))
    assert await directory.display_names([person, stranger, person]) == {person: "Pat Doe"}
    calls = control.calls()
    control.org(users=[{"id": person, "displayName": "Pat Renamed"}, {"id": stranger, "displayName": "Sam"}])
    assert await directory.display_names([stranger, person]) == {person: "Pat Doe"}
    assert control.calls() == calls  # both answers (the 404 too) came from the cache


async def test_a_graph_outage_gives_no_names_and_is_not_cached(sandbox, tenant_id, control) -> None:
    person = new_id()
    control.org(users=[{"id": person, "displayName": "Pat Doe"}])
    now = [0.0]
    directory = names_for(sandbox, tenant_id, DirectoryCache(ttl_seconds=60), clock=lambda: now[0])
    control.faults(unavailable_every=1)
    assert await directory.display_names([person]) == {}  # no exception: the card goes out with a short id
    control.faults(unavailable_every=0)
    calls = control.calls()
    assert await directory.display_names([person]) == {}  # resting after the failure: Graph is not asked
    assert control.calls() == calls
    now[0] = NAMES_REST_AFTER_FAILURE_SECONDS
    assert await directory.display_names([person]) == {person: "Pat Doe"}  # the failure was not kept
