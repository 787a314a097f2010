"""What can go wrong with a request, as types the doors translate (API: problem+json; bot: a card or a line).

Every message names what was wrong and is safe to show to the caller (no secrets, no stack traces).
"""

from __future__ import annotations

from greenlight.models import Decision, RequestStatus


class RequestError(Exception):
    """Base class; `code` is stable (API problem type slug, audit, logs)."""

    code = "request_error"


class InvalidInput(RequestError):
    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownPackage(RequestError):
    """The package (or that version of it) is not in the verified WinGet catalog."""

    code = "unknown_package"

    def __init__(self, package_id: str, version: str | None = None) -> None:
        what = f"{package_id} {version}" if version else package_id
        super().__init__(f"{what} is not in the verified WinGet catalog")
        self.package_id = package_id
        self.version = version


class CatalogUnavailable(RequestError):
    code = "catalog_unavailable"


class IdempotencyKeyReused(RequestError):
    """The same client key came with a different body: a retry must repeat the first request exactly."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used for a request with different values")
        self.key = key


class RequestNotFound(RequestError):
    code = "not_found"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} does not exist (or not in your organization)")
        self.request_id = request_id


class NotAllowed(RequestError):
    code = "forbidden"


class NotOpen(RequestError):
    """The request is past the point where this action applies (e.g. deciding a Cancelled request)."""

    code = "not_open"

    def __init__(self, request_id: str, status: RequestStatus, action: str) -> None:
        super().__init__(f"request {request_id} is {status}; it can no longer be {action}")
        self.status = status


class NotYetOpen(NotOpen):
    """Submitted, and its approval plan is not made yet (the workflow is finding the approvers): retry shortly."""

    code = "not_yet_open"

    def __init__(self, request_id: str, status: RequestStatus) -> None:
        RequestError.__init__(
            self, f"request {request_id} is not open for decisions yet (its approvers are being found); retry shortly"
        )
        self.status = status


class AlreadyDecided(RequestError):
    """Someone decided first; carries the decision that won."""

    code = "already_decided"

    def __init__(self, decision: Decision) -> None:
        verb = "approved" if decision.verdict == "approved" else "rejected"
        super().__init__(f"already {verb} by {decision.approver_name or 'an approver'}")
        self.decision = decision


class WorkflowUnavailable(RequestError):
    """The workflow could not be started or signalled; the stored state stands and a retry completes it."""

    code = "workflow_unavailable"
