"""The inner zip's SHA-256 is computed while the installer downloads (across a resume too), and packaging takes
it instead of hashing the plaintext again: Intune's check at commit (the sandbox decrypts and compares) is what
proves the staged digest was the one sent."""

from __future__ import annotations

import hashlib

import pytest

from greenlight.intune.pipeline import inner_zip
from greenlight.publishing import Job, PublishFailure
from tests.integration.publishing.conftest import SIZED, World

MIB = 1024 * 1024


async def _downloaded_across_a_resume(world: World) -> tuple[dict, dict]:
    claim = world.service.claim_publication(world.tenant_id, world.request(SIZED))
    job = claim["input"]
    verified = await world.service.verify_manifest(job)
    assert verified["ok"], verified
    world.cdn_faults(drop_installer_after=MIB + MIB // 2)
    with pytest.raises(PublishFailure):
        await world.service.download_installer(job, verified["summary"])
    resumed = await world.service.download_installer(job, verified["summary"])
    assert resumed["ok"], resumed
    return job, resumed["staged"]


async def test_the_staged_content_digest_is_the_inner_zips_and_intune_accepts_it(world: World) -> None:
    job, staged = await _downloaded_across_a_resume(world)

    plan = world.service._resolve(Job.from_json(job).key).plan
    archive = inner_zip(plan, staged["size"], lambda: world.service.staging.reader(staged["blob"]), staged["crc32"])
    digest = hashlib.sha256()
    for chunk in archive.stream():
        digest.update(chunk)
    assert staged["content_sha256"] == digest.hexdigest()

    uploaded = await world.service.package_and_upload(job, staged)

    assert uploaded["ok"] is True, uploaded
    assert [c["ok"] for c in world.intune()["commits"]] == [True]


async def test_packaging_sends_the_staged_digest_rather_than_hashing_again(world: World) -> None:
    job, staged = await _downloaded_across_a_resume(world)
    wrong = {**staged, "content_sha256": hashlib.sha256(b"not this archive").hexdigest()}

    uploaded = await world.service.package_and_upload(job, wrong)

    assert uploaded["ok"] is False
    commits = world.intune()["commits"]
    assert commits and not commits[-1]["ok"] and "digest" in commits[-1]["failure"].lower(), commits
