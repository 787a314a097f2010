"""greenlight.publishing end to end on Azurite + the sandbox CDN and Graph: one request becomes one app."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from greenlight.models import PublishedApp
from greenlight.storage import PublishedAppRepository
from tests.integration.publishing.conftest import SEVEN_ZIP, World
from tests.integration.publishing.runner import run_publication


def _only_app(state: dict) -> dict:
    assert len(state["apps"]) == 1, f"expected one app, found {len(state['apps'])}"
    return state["apps"][0]


async def test_a_7zip_publication_ends_with_one_verified_app_assigned_and_the_requester_in_its_group(
    world: World,
) -> None:
    request_id = world.request()
    claim = world.service.claim_publication(world.tenant_id, request_id)
    assert claim["outcome"] == "owner" and claim["instance_id"].startswith("pub-")

    result = await run_publication(world.service, claim["input"])
    assert result["ok"] is True, result
    granted = await world.service.grant_access(world.tenant_id, request_id, result["group_id"])
    again = await world.service.grant_access(world.tenant_id, request_id, result["group_id"])

    assert granted == {"added": True} and again == {"added": False}
    state = world.intune()
    app = _only_app(state)
    assert app["id"] == result["app_id"] and app["publishingState"] == "published"
    assert [len(cv["files"]) for cv in app["contentVersions"]] == [1]
    assert [c["ok"] for c in state["commits"]] == [True]  # the sandbox decrypted and verified the content
    assert len(app["assignments"]) == 1 and app["assignments"][0]["intent"] == "required"
    (group,) = state["groups"]
    assert group["displayName"] == "Greenlight-7zip.7zip-26.03-x64"
    assert group["members"] == [world.requester(request_id)]
    row = PublishedAppRepository(world.account).get(*SEVEN_ZIP, "x64", "machine")
    assert isinstance(row, PublishedApp) and (row.app_id, row.group_id) == (result["app_id"], result["group_id"])
    assert world.service.publication_state(claim["input"]["publication_id"])["state"] == "published"
    assert world.staged_blobs() == []  # installer and checkpoint cleaned up
    stages = [p.stage for p in world.sinks[request_id].reports]
    assert stages[0] == "Verifying" and stages[-1] == "Assigning"  # "Done" is the request's, after grant_access
    assert {"Downloading", "Uploading", "Assigning"} <= set(stages)
    percents = [p.percent for p in world.sinks[request_id].reports]
    assert percents == sorted(percents)


async def test_a_second_claim_for_a_published_version_gets_published_and_uploads_nothing(world: World) -> None:
    first = world.service.claim_publication(world.tenant_id, world.request())
    result = await run_publication(world.service, first["input"])
    before = world.intune()

    second = world.service.claim_publication(world.tenant_id, world.request())

    assert second == {"outcome": "published", "app_id": result["app_id"], "group_id": result["group_id"]}
    after = world.intune()
    assert len(after["apps"]) == 1 and after["commits"] == before["commits"]


def test_eight_claims_at_once_make_exactly_one_owner_and_seven_waiters(world: World) -> None:
    requests = [world.request() for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda r: world.service.claim_publication(world.tenant_id, r), requests))

    owners = [c for c in claims if c["outcome"] == "owner"]
    waiting = [c for c in claims if c["outcome"] == "waiting"]
    assert len(owners) == 1 and len(waiting) == 7
    publication_id = owners[0]["input"]["publication_id"]
    assert {c["publication_id"] for c in waiting} == {publication_id}
    assert set(world.service.claims.waiters(world.service.claims.key_for(world.tenant_id, requests[0]))) == {
        (world.tenant_id, r) for r in requests
    }
    # A retried claim by the owner is told again that it owns the same instance.
    owner_request = requests[claims.index(owners[0])]
    assert world.service.claim_publication(world.tenant_id, owner_request) == owners[0]


async def test_waiters_past_the_live_list_wait_unlisted_and_all_learn_the_outcome(world: World) -> None:
    """A company-wide rollout of one app: only the first waiters follow the progress live (the list has a bound);
    every one of them waits for the same publication and sees it published."""
    world.service.claims.live_waiters = 3
    requests = [world.request() for _ in range(6)]
    claims = [world.service.claim_publication(world.tenant_id, r) for r in requests]
    again = world.service.claim_publication(world.tenant_id, requests[-1])  # a retried claim past the list

    assert [c["outcome"] for c in claims] == ["owner"] + ["waiting"] * 5 and again == claims[-1]
    key = world.service.claims.key_for(world.tenant_id, requests[0])
    assert world.service.claims.waiters(key) == tuple((world.tenant_id, r) for r in requests[:3])
    published = await run_publication(world.service, claims[0]["input"])
    assert published["ok"] is True
    states = {world.service.publication_state(c["publication_id"])["state"] for c in claims[1:]}
    assert states == {"published"}


async def test_a_failed_publication_can_be_claimed_again_as_a_new_attempt(world: World) -> None:
    world.graph_faults(approval_required=True)
    first = world.service.claim_publication(world.tenant_id, world.request())
    failed = await run_publication(world.service, first["input"])
    assert failed["ok"] is False
    assert world.service.publication_state(first["input"]["publication_id"])["error"]["code"] == "approval_required"

    world.graph_faults()  # the second administrator approved; switches off
    second = world.service.claim_publication(world.tenant_id, world.request())

    assert second["outcome"] == "owner" and second["input"]["attempt"] == 2
    assert second["instance_id"] != first["instance_id"]
    assert (await run_publication(world.service, second["input"]))["ok"] is True


async def test_multi_admin_approval_is_reported_as_approval_required_and_nothing_is_left_in_intune(
    world: World,
) -> None:
    world.graph_faults(approval_required=True)
    claim = world.service.claim_publication(world.tenant_id, world.request())

    result = await run_publication(world.service, claim["input"])

    assert result["ok"] is False and result["error"]["code"] == "approval_required"
    assert "Multi Admin Approval" in result["error"]["message"]
    assert world.intune()["apps"] == []
    assert world.staged_blobs() == []


async def test_claims_while_publishing_wait_and_every_waiter_gets_progress(world: World) -> None:
    owner_request, waiter_request = world.request(), world.request()
    claim = world.service.claim_publication(world.tenant_id, owner_request)
    waiting = world.service.claim_publication(world.tenant_id, waiter_request)
    assert waiting["outcome"] == "waiting"
    assert world.service.publication_state(waiting["publication_id"])["state"] == "publishing"

    await run_publication(world.service, claim["input"])

    final = world.service.publication_state(waiting["publication_id"])
    assert final["state"] == "published" and final["app_id"] and final["error"] is None
    assert world.sinks[waiter_request].reports[-1].message == "Published to Intune"
    assert asyncio.iscoroutinefunction(world.sinks[waiter_request].report)
