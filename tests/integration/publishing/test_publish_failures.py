"""Broken links, outages and crashes: each failure is named, retried only when it can help, resumed where it
stopped, and leaves nothing half-made in Intune or in staging."""

from __future__ import annotations

import asyncio

import pytest

from greenlight.publishing import PublishFailure
from tests.integration.publishing.conftest import SIZED, World
from tests.integration.publishing.runner import run_publication

MIB = 1024 * 1024

# The sandbox CDN's tamper variants and the link each one must be stopped at.
TAMPERED = {
    "index-row": "appx_digest_mismatch",
    "versiondata": "version_data_hash_mismatch",
    "manifest": "manifest_hash_mismatch",
    "installer": "installer_hash_mismatch",
    "untrusted-ca": "untrusted_certificate_chain",
}


@pytest.mark.parametrize("variant", sorted(TAMPERED))
async def test_each_tampered_variant_fails_at_its_own_link_and_nothing_reaches_intune(world_factory, variant):
    world: World = world_factory(variant)
    claim = world.service.claim_publication(world.tenant_id, world.request())

    result = await run_publication(world.service, claim["input"])

    assert result["ok"] is False
    assert result["error"]["code"] == TAMPERED[variant], result["error"]
    assert world.intune()["apps"] == []
    assert world.staged_blobs() == []
    state = world.service.publication_state(claim["input"]["publication_id"])
    assert state["state"] == "failed" and state["error"]["code"] == TAMPERED[variant]


async def _verified(world: World, package=SIZED) -> tuple[dict, dict]:
    claim = world.service.claim_publication(world.tenant_id, world.request(package))
    verified = await world.service.verify_manifest(claim["input"])
    assert verified["ok"], verified
    return claim["input"], verified["summary"]


async def test_a_download_cut_off_mid_way_resumes_with_a_range_request_for_the_rest_only(world: World) -> None:
    job, summary = await _verified(world)
    world.cdn_faults(drop_installer_after=3 * MIB + MIB // 2)
    served_before = len(world.cdn_served())

    with pytest.raises(PublishFailure) as cut:
        await world.service.download_installer(job, summary)
    assert cut.value.code == "unverifiable_retry_later"  # transient: the durable retry policy will run it again
    resumed = await world.service.download_installer(job, summary)

    assert resumed["ok"] is True and resumed["staged"]["sha256"] == summary["installer_sha256"]
    size = resumed["staged"]["size"]
    first, second = world.cdn_served()[served_before:]
    assert first["start"] == 0 and first["bytes"] == 3 * MIB + MIB // 2
    # Committed parts of 1 MiB survived: 3 MiB are re-hashed from staging, only the rest is fetched again.
    assert second["start"] == 3 * MIB and second["bytes"] == size - 3 * MIB


async def test_a_crash_after_the_last_part_but_before_the_final_commit_fetches_nothing_again(world: World) -> None:
    from greenlight.publishing import Job

    job, summary = await _verified(world)
    first = await world.service.download_installer(job, summary)
    blob = world.service.staging.staging.blob(Job.from_json(job).installer_blob)
    blob.set_blob_metadata({"total": str(first["staged"]["size"])})  # as a part commit leaves it
    served_before = len(world.cdn_served())

    again = await world.service.download_installer(job, summary)

    assert again == first
    assert world.cdn_served()[served_before:] == []  # re-hashed from staging; no Range past the end


async def test_an_installer_over_intunes_size_limit_is_refused_before_it_is_staged(world: World) -> None:
    world.graph_faults(max_content_bytes=MIB)
    job, summary = await _verified(world)

    result = await world.service.download_installer(job, summary)

    assert result["ok"] is False and result["error"]["code"] == "installer_too_large"
    assert str(MIB) in result["error"]["message"]


async def _staged(world: World) -> tuple[dict, dict]:
    job, summary = await _verified(world)
    downloaded = await world.service.download_installer(job, summary)
    assert downloaded["ok"], downloaded
    return job, downloaded["staged"]


async def _interrupt_upload(world: World, job: dict, staged: dict) -> None:
    """Run package_and_upload until some blocks are on Intune's blob, then cancel it as a crash would."""
    world.graph_faults(block_delay_seconds=0.3)
    task = asyncio.create_task(world.service.package_and_upload(job, staged))
    for _ in range(200):
        await asyncio.sleep(0.05)
        files = [f for app in world.intune()["apps"] for cv in app["contentVersions"] for f in cv["files"]]
        if files and world.intune()["faults"]["calls"] > 0 and _checkpointed(world):
            break
    await asyncio.sleep(0.7)  # a couple of blocks land
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    world.graph_faults()


def _checkpointed(world: World) -> bool:
    return any(name.endswith("upload-checkpoint.json") for name in world.staged_blobs())


async def test_an_upload_interrupted_mid_way_resumes_into_one_app_with_one_content_version(world: World) -> None:
    job, staged = await _staged(world)
    await _interrupt_upload(world, job, staged)
    assert world.intune()["commits"] == []

    result = await world.service.package_and_upload(job, staged)

    assert result["ok"] is True
    state = world.intune()
    (app,) = state["apps"]
    assert app["id"] == result["app_id"] and len(app["contentVersions"]) == 1
    assert len(app["contentVersions"][0]["files"]) == 1
    assert [c["ok"] for c in state["commits"]] == [True]


async def test_a_half_made_app_is_removed_when_the_publication_gives_up(world: World) -> None:
    job, staged = await _staged(world)
    await _interrupt_upload(world, job, staged)
    assert len(world.intune()["apps"]) == 1

    cleaned = await world.service.cleanup(job, True)

    assert cleaned["ok"] is True and cleaned["discarded_app"]
    assert world.intune()["apps"] == []
    assert world.staged_blobs() == []


async def test_an_app_refusing_new_content_after_an_uncommitted_first_version_is_recreated(world: World) -> None:
    job, staged = await _staged(world)
    stuck_id = await _app_with_an_unusable_first_version(world, job)
    world.graph_faults(uncommitted_first_version_400=True)

    result = await world.service.package_and_upload(job, staged)

    assert result["ok"] is True and result["app_id"] != stuck_id
    state = world.intune()
    (app,) = state["apps"]
    assert app["id"] == result["app_id"] and app["publishingState"] == "published"
    assert len(app["contentVersions"]) == 1 and [c["ok"] for c in state["commits"]] == [True]


async def _app_with_an_unusable_first_version(world: World, job: dict) -> str:
    """The app an earlier attempt left: its first content version holds a file of other sizes, never committed."""
    from greenlight.graph.client import open_graph_client
    from greenlight.publishing import Job

    plan = world.service._resolve(Job.from_json(job).key).plan
    async with open_graph_client(world.service.graph_settings) as graph:
        app = await graph.post("deviceAppManagement/mobileApps", plan.body)
        assert app is not None
        versions = f"deviceAppManagement/mobileApps/{app['id']}/microsoft.graph.win32LobApp/contentVersions"
        await graph.post(versions, {})
        body = {
            "@odata.type": "#microsoft.graph.mobileAppContentFile",
            "name": "IntunePackage.intunewin",
            "size": 1,
            "sizeEncrypted": 64,
        }
        await graph.post(f"{versions}/1/files", body)
    return app["id"]


async def test_a_fresh_sas_url_refused_for_a_few_seconds_is_waited_out(world: World) -> None:
    world.graph_faults(fresh_sas_seconds=1.5)
    claim = world.service.claim_publication(world.tenant_id, world.request())

    result = await run_publication(world.service, claim["input"])

    assert result["ok"] is True
    state = world.intune()
    assert state["faults"]["fresh_sas_refusals"] > 0
    assert [c["ok"] for c in state["commits"]] == [True]


async def test_an_older_source_after_a_newer_one_fails_as_a_rollback(world_factory, sandbox, tmp_path) -> None:
    from greenlight.winget.catalog import open_catalog
    from greenlight.winget.settings import SANDBOX_ROOT_NAME, WingetSettings

    env = {
        "GREENLIGHT_ENV": "local",
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
        "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path / "one-cache"),
    }
    open_catalog(WingetSettings.from_env({**env, "GREENLIGHT_WINGET_SOURCE_URL": sandbox.winget_url}))
    older = {**env, "GREENLIGHT_WINGET_SOURCE_URL": f"{sandbox.winget_url}/v/older"}
    world: World = world_factory()
    world.service.catalog = lambda: open_catalog(WingetSettings.from_env(older))  # same cache, older source
    claim = world.service.claim_publication(world.tenant_id, world.request())

    result = await run_publication(world.service, claim["input"])

    assert result["ok"] is False and result["error"]["code"] == "source_rollback", result
    assert world.intune()["apps"] == []
