"""The publish steps in the orchestrator's order, called directly (the orchestrator itself runs through devhost
in tests/integration/orchestrations). A transient failure that is raised counts as the retries running out."""

from __future__ import annotations

from typing import Any

from greenlight.publishing import PublishFailure, PublishingService


async def run_publication(service: PublishingService, job: dict[str, Any]) -> dict[str, Any]:
    try:
        result = await _steps(service, job)
    except PublishFailure as failure:
        result = {"ok": False, "error": failure.to_json()}
    if not result["ok"]:
        await service.cleanup(job, True)
        await service.mark_failed(job, result["error"])
        return result
    await service.cleanup(job, False)
    return result


async def _steps(service: PublishingService, job: dict[str, Any]) -> dict[str, Any]:
    verified = await service.verify_manifest(job)
    if not verified["ok"]:
        return verified
    downloaded = await service.download_installer(job, verified["summary"])
    if not downloaded["ok"]:
        return downloaded
    staged = downloaded["staged"]
    uploaded = await service.package_and_upload(job, staged)
    if not uploaded["ok"]:
        return uploaded
    assigned = await service.create_assignment(job, uploaded["app_id"])
    if not assigned["ok"]:
        return assigned
    recorded = await service.record_published(job, uploaded["app_id"], assigned["group_id"], staged["sha256"])
    if not recorded["ok"]:
        return recorded
    return {"ok": True, "app_id": uploaded["app_id"], "group_id": assigned["group_id"]}
