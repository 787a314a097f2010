"""publish_orchestrator and its activities: a verified WinGet package version becomes an assigned Intune app.

The orchestrator reads like the process: verify → download → package and upload → assign → record → done; on a
failure: clean up (staging, a half-made app), mark the publication failed, return the named error. It never
raises for an expected failure (`{"ok": false, "error": {code, message}}`).

Activities are thin calls into greenlight.publishing. Permanent failures come back as results; transient ones
(CDN or Graph outage, storage) are raised and retried by `call_activity_with_retry` with backoff.
Payloads stay small: the publication id and attempt, a manifest summary, the staged blob's name and hashes.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

import services
from greenlight import telemetry
from greenlight.publishing import PublishingService, failure_from_text
from orchestrations import blueprint


class BackoffRetryOptions(df.RetryOptions):
    """RetryOptions that also send `backoffCoefficient` (the extension reads it; the Python SDK omits it)."""

    def __init__(self, first_retry_interval_in_milliseconds: int, max_number_of_attempts: int, coefficient: float):
        super().__init__(first_retry_interval_in_milliseconds, max_number_of_attempts)
        self.backoff_coefficient = coefficient

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "backoffCoefficient": self.backoff_coefficient}


# Transient failures only (permanent ones are results, not exceptions): retried 10, 20, 40 and 80 s later, then
# the step fails with its named error. Each attempt already retries throttling and dropped calls inside.
TRANSIENT_RETRY = BackoffRetryOptions(10_000, 5, 2.0)

log = logging.getLogger("greenlight.publishing")

_service: PublishingService | None = None


def use_service(service: PublishingService | None) -> None:
    """Install the process-wide publishing service (the composition root, or a test app)."""
    global _service
    _service = service


def publishing() -> PublishingService:
    """The installed service (a test app), else the composition root's (progress reaches the waiting requests)."""
    if _service is not None:
        return _service
    return services.get().publishing


# ------------------------------------------------------------------------------------------- orchestrator


def _step(context: df.DurableOrchestrationContext, name: str, payload: dict[str, Any]):
    """One activity with the transient-retry policy; retries running out becomes that step's named failure."""
    try:
        return (yield context.call_activity_with_retry(name, TRANSIENT_RETRY, payload))
    except Exception as error:  # noqa: BLE001 - the durable SDK raises a plain Exception for a failed task
        return {"ok": False, "error": failure_from_text(str(error), name)}


def _publish(context: df.DurableOrchestrationContext, job: dict[str, Any]):
    verified = yield from _step(context, "verify_manifest", {"job": job})
    if not verified["ok"]:
        return verified
    downloaded = yield from _step(context, "download_installer", {"job": job, "summary": verified["summary"]})
    if not downloaded["ok"]:
        return downloaded
    staged = downloaded["staged"]
    uploaded = yield from _step(context, "package_and_upload", {"job": job, "staged": staged})
    if not uploaded["ok"]:
        return uploaded
    assigned = yield from _step(context, "create_assignment", {"job": job, "app_id": uploaded["app_id"]})
    if not assigned["ok"]:
        return assigned
    record = {"job": job, "app_id": uploaded["app_id"], "group_id": assigned["group_id"], "sha256": staged["sha256"]}
    recorded = yield from _step(context, "record_published", record)
    if not recorded["ok"]:
        return recorded
    return {"ok": True, "app_id": uploaded["app_id"], "group_id": assigned["group_id"]}


@blueprint.orchestration_trigger(context_name="context")
def publish_orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    result = yield from _publish(context, job)
    yield from _step(context, "cleanup_publication", {"job": job, "failed": not result["ok"]})
    if result["ok"]:
        return result
    yield from _step(context, "mark_publication_failed", {"job": job, "error": result["error"]})
    return {"ok": False, "error": result["error"]}


# ------------------------------------------------------------------------------------------- activities


@blueprint.activity_trigger(input_name="payload")
def claim_publication(payload: dict) -> dict:
    with telemetry.activity_span("claim_publication", payload.get("trace")):
        return publishing().claim_publication(payload["tenant_id"], payload["request_id"])


@blueprint.activity_trigger(input_name="payload")
def publication_state(payload: dict) -> dict:
    return publishing().publication_state(payload["publication_id"])


@blueprint.activity_trigger(input_name="payload")
async def grant_access(payload: dict) -> dict:
    with telemetry.activity_span("grant_access", payload.get("trace")):
        return await publishing().grant_access(payload["tenant_id"], payload["request_id"], payload["group_id"])


@blueprint.activity_trigger(input_name="payload")
async def verify_manifest(payload: dict) -> dict:
    return await publishing().verify_manifest(payload["job"])


@blueprint.activity_trigger(input_name="payload")
async def download_installer(payload: dict) -> dict:
    return await publishing().download_installer(payload["job"], payload["summary"])


@blueprint.activity_trigger(input_name="payload")
async def package_and_upload(payload: dict) -> dict:
    return await publishing().package_and_upload(payload["job"], payload["staged"])


@blueprint.activity_trigger(input_name="payload")
async def create_assignment(payload: dict) -> dict:
    return await publishing().create_assignment(payload["job"], payload["app_id"])


@blueprint.activity_trigger(input_name="payload")
async def record_published(payload: dict) -> dict:
    return await publishing().record_published(
        payload["job"], payload["app_id"], payload["group_id"], payload["sha256"]
    )


@blueprint.activity_trigger(input_name="payload")
async def cleanup_publication(payload: dict) -> dict:
    return await publishing().cleanup(payload["job"], bool(payload["failed"]))


@blueprint.activity_trigger(input_name="payload")
async def mark_publication_failed(payload: dict) -> dict:
    error = payload["error"] or {}
    # The operations alert "publication-failed" searches for this phrase (greenlight.telemetry.PUBLICATION_FAILED).
    log.error("%s: %s, attempt %s: %s", telemetry.PUBLICATION_FAILED, payload["job"].get("publication_id"),
              payload["job"].get("attempt"), error.get("code"))  # fmt: skip
    return await publishing().mark_failed(payload["job"], payload["error"])
