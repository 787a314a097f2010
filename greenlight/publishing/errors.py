"""Why a publication failed, as `{code, message}`, and whether trying again later can help.

Transient kinds (a CDN or Graph outage, storage hiccups) are raised by activities so the orchestrator's
`call_activity_with_retry` retries them with backoff; permanent kinds (tampering, a refused installer, Intune's
Multi Admin Approval, content Intune rejected) are returned as results, because retrying cannot change them.
"""

from __future__ import annotations

import re
from typing import Any

from greenlight.graph.errors import (
    GraphAuthError,
    GraphBadRequest,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTransportError,
)
from greenlight.intune.errors import ContentSourceError, IntuneError, UploadError
from greenlight.storage.errors import StorageError
from greenlight.winget.errors import Unverifiable, WingetError

# Codes whose failures are worth retrying. Everything else is permanent.
TRANSIENT_CODES = frozenset(
    {
        "unverifiable_retry_later",
        "graph_unavailable",
        "storage_unavailable",
        "upload_interrupted",
        "catalog_unavailable",
    }
)


class PublishFailure(Exception):
    """A named failure of one link of the publish chain. `str()` is `code: message` (the orchestrator reads
    the code back from a retried activity's failure text)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InstallerTooLarge(PublishFailure):
    def __init__(self, package_id: str, size: int, limit: int) -> None:
        super().__init__(
            "installer_too_large", f"package {package_id}: the installer is {size} bytes; Intune accepts {limit}"
        )


_CODE_IN_TEXT = re.compile(r"\b(" + "|".join(sorted(TRANSIENT_CODES)) + r"): (.+)", re.DOTALL)


def failure_from_text(text: str, step: str) -> dict[str, str]:
    """The `{code, message}` of a retried activity that still failed (its exception text), else a generic one."""
    match = _CODE_IN_TEXT.search(text or "")
    if match:
        return {"code": match.group(1), "message": match.group(2).strip().splitlines()[0]}
    return {"code": "internal_error", "message": f"{step} failed: {(text or 'unknown error').splitlines()[0][:300]}"}


def _graph_failure(error: GraphError) -> PublishFailure:
    if isinstance(error, GraphAuthError) and error.code == "ApprovalRequired":
        return PublishFailure(
            "approval_required",
            "Intune Multi Admin Approval holds this change: a second Intune administrator must approve it "
            f"in the Intune admin center, then retry ({error})",
        )
    if isinstance(error, GraphThrottled | GraphTransportError) or error.status >= 500:
        return PublishFailure("graph_unavailable", f"Microsoft Graph is unavailable: {error}")
    if isinstance(error, GraphAuthError):
        return PublishFailure("graph_denied", f"Microsoft Graph refused Greenlight's credentials: {error}")
    if isinstance(error, GraphBadRequest | GraphNotFound):
        return PublishFailure("graph_rejected", f"Intune rejected a request: {error}")
    return PublishFailure("graph_error", str(error))


def failure_from(error: BaseException) -> PublishFailure:
    """Name what happened, keeping the link of the chain that broke."""
    if isinstance(error, PublishFailure):
        return error
    if isinstance(error, WingetError):
        if error.code == "catalog_unavailable" and isinstance(error.__cause__, WingetError):
            error = error.__cause__  # name the link that broke, not just "the catalog"
        code = "unverifiable_retry_later" if isinstance(error, Unverifiable) else error.code
        return PublishFailure(code, error.message)
    if isinstance(error, GraphError):
        return _graph_failure(error)
    if isinstance(error, UploadError):
        state: Any = getattr(error, "state", None)
        if state in {"commitFileFailed", "commitFileTimedOut"}:
            return PublishFailure("content_rejected", f"Intune did not accept the uploaded content: {error}")
        return PublishFailure("upload_interrupted", f"uploading the content failed: {error}")
    if isinstance(error, ContentSourceError | OSError):
        return PublishFailure("upload_interrupted", f"reading the staged installer failed: {error}")
    if isinstance(error, IntuneError):
        return PublishFailure("not_deployable", str(error))
    if isinstance(error, StorageError):
        return PublishFailure("storage_unavailable", str(error))
    return PublishFailure("internal_error", f"{type(error).__name__}: {error}")
