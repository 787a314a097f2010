"""RFC 7807 `application/problem+json` answers, and the mapping from typed errors to them.

Routes raise `ApiProblem` (or a typed error registered here); `api_endpoint` turns either into a problem response.
Nothing else reaches the client: an unexpected exception becomes a 500 problem without a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from functions.correlation import CORRELATION_HEADER, current_correlation_id

PROBLEM_TYPE_BASE = "https://greenlight.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        type_: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type_ = type_
        self.headers = headers or {}
        self.extra = extra or {}

    def to_response(self) -> func.HttpResponse:
        return problem_response(
            self.status, self.title, self.detail, self.type_, headers=self.headers, extra=self.extra
        )


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    type_: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> func.HttpResponse:
    """An RFC 7807 response; `type_` is a short slug (made absolute under PROBLEM_TYPE_BASE) or a full URI."""
    if type_ is None:
        type_uri = "about:blank"
    elif "://" in type_ or type_.startswith("about:"):
        type_uri = type_
    else:
        type_uri = PROBLEM_TYPE_BASE + type_
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    correlation_id = current_correlation_id()
    if correlation_id:
        body["correlationId"] = correlation_id
    body.update(extra or {})
    all_headers = {"Cache-Control": "no-store", **(headers or {})}
    if correlation_id:
        all_headers[CORRELATION_HEADER] = correlation_id
    return func.HttpResponse(
        json.dumps(body), status_code=status, headers=all_headers, mimetype=PROBLEM_MEDIA_TYPE, charset="utf-8"
    )


# Typed errors from greenlight (or another area) that map to a fixed problem: type -> (status, title, slug).
_REGISTERED: dict[type[BaseException], tuple[int, str, str]] = {}


def register_problem(error_type: type[BaseException], status: int, title: str, slug: str) -> None:
    """Let a typed domain error answer as a problem (its str() becomes `detail`, so keep it free of secrets)."""
    _REGISTERED[error_type] = (status, title, slug)


def problem_for(error: BaseException) -> ApiProblem | None:
    if isinstance(error, ApiProblem):
        return error
    for error_type in type(error).__mro__:
        if error_type in _REGISTERED:
            status, title, slug = _REGISTERED[error_type]
            return ApiProblem(status, title, str(error), slug)
    return None
