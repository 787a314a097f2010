"""Which failures are retried and how each is named (the rules; the real parts are in tests/integration/publishing)."""

from __future__ import annotations

import pytest

from greenlight.graph.errors import GraphAuthError, GraphBadRequest, GraphThrottled
from greenlight.intune.errors import MappingError, UploadError
from greenlight.publishing import PublicationKey, PublishFailure, failure_from_text
from greenlight.publishing.errors import failure_from
from greenlight.publishing.progress import Fanout, Progress
from greenlight.storage.errors import StorageError
from greenlight.winget.catalog import CatalogUnavailable
from greenlight.winget.errors import InstallerHashMismatch, UntrustedCertificateChain, Unverifiable
from orchestrations.publish import TRANSIENT_RETRY


@pytest.mark.parametrize(
    ("error", "code", "transient"),
    [
        (Unverifiable("CDN 503", link="installer"), "unverifiable_retry_later", True),
        (InstallerHashMismatch(link="installer", expected="a" * 64, actual="b" * 64), "installer_hash_mismatch", False),
        (GraphThrottled("429 again", status=429), "graph_unavailable", True),
        (GraphAuthError("denied", status=403, code="ApprovalRequired"), "approval_required", False),
        (GraphAuthError("denied", status=403, code="Authorization_RequestDenied"), "graph_denied", False),
        (GraphBadRequest("bad", status=400), "graph_rejected", False),
        (UploadError("commit failed", state="commitFileFailed"), "content_rejected", False),
        (UploadError("blob failed after 8 attempts"), "upload_interrupted", True),
        (MappingError("exe without a silent switch"), "not_deployable", False),
        (StorageError("Azurite away"), "storage_unavailable", True),
    ],
)
def test_each_failure_is_named_and_only_outages_are_transient(error, code, transient) -> None:
    failure = failure_from(error)
    assert (failure.code, failure.transient) == (code, transient)


def test_a_catalog_that_cannot_open_is_named_by_the_link_that_broke() -> None:
    try:
        try:
            raise UntrustedCertificateChain("chain ends at an unknown root", link="msix")
        except UntrustedCertificateChain as cause:
            raise CatalogUnavailable("The WinGet catalog is unavailable: ...") from cause
    except CatalogUnavailable as error:
        assert failure_from(error).code == "untrusted_certificate_chain"


def test_a_retried_step_that_still_fails_keeps_its_code_from_the_failure_text() -> None:
    text = "Activity function 'download_installer' failed: PublishFailure: unverifiable_retry_later: CDN 503"
    assert failure_from_text(text, "download_installer") == {"code": "unverifiable_retry_later", "message": "CDN 503"}
    assert failure_from_text("KeyError: 'job'", "verify_manifest")["code"] == "internal_error"
    assert str(PublishFailure("graph_unavailable", "Graph 503")) == "graph_unavailable: Graph 503"


def test_the_retry_policy_sends_its_backoff_coefficient() -> None:
    assert TRANSIENT_RETRY.to_json() == {
        "firstRetryIntervalInMilliseconds": 10_000,
        "maxNumberOfAttempts": 5,
        "backoffCoefficient": 2.0,
    }


def test_publication_ids_round_trip_and_instance_ids_are_deterministic_per_attempt() -> None:
    key = PublicationKey("7zip.7zip", "26.03", "x64", "machine")
    assert PublicationKey.parse(key.id) == key and key.id == "7zip.7zip|26.03|x64|machine"
    assert key.instance_id(1) == PublicationKey("7zip.7zip", "26.03", "x64", "machine").instance_id(1)
    assert key.instance_id(1) != key.instance_id(2)
    with pytest.raises(ValueError, match="not a publication id"):
        PublicationKey.parse("7zip.7zip|26.03")


async def test_a_failing_progress_sink_never_stops_the_others() -> None:
    seen: list[Progress] = []

    class Broken:
        async def report(self, progress: Progress) -> None:
            raise RuntimeError("Teams is down")

    class Recording:
        async def report(self, progress: Progress) -> None:
            seen.append(progress)

    fanout = Fanout([Broken(), Recording()])
    await fanout.report(Progress("Downloading", 20, "Downloading"))
    await fanout.report(Progress("Downloading", 20, "Downloading"))  # the same figure twice is sent once
    assert [p.percent for p in seen] == [20]
