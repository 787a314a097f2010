"""Typed Graph errors carrying Graph's error code and the request id (what Microsoft support asks for)."""

from __future__ import annotations


class GraphError(Exception):
    """A Graph call failed. `status` is the HTTP status (0 for transport failures)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
    ) -> None:
        details = ", ".join(
            part
            for part in (
                f"HTTP {status}" if status else None,
                f"code {code}" if code else None,
                f"request-id {request_id}" if request_id else None,
            )
            if part
        )
        super().__init__(f"{message} ({details})" if details else message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id


class GraphBadRequest(GraphError):
    """400/409/422: the request itself is wrong; retrying cannot help."""


class GraphAuthError(GraphError):
    """401/403, or no token could be acquired."""


class GraphNotFound(GraphError):
    """404."""


class GraphThrottled(GraphError):
    """429/503/504 that persisted through every retry."""


class GraphTransportError(GraphError):
    """The connection failed (reset, timeout, TLS) and the call was not safe to retry, or retries ran out."""


class GraphConfigurationError(GraphError):
    """A URL or setting that Greenlight refuses to use (non-https host, host not allowed)."""
