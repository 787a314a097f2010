"""The async Graph client: one httpx.AsyncClient, a token provider, retries, paging and typed errors.

Retry policy (format reference §2.10): 429, 503 and 504 are retried, waiting `Retry-After` (seconds or an HTTP
date) when Graph sends it, else exponential backoff with full jitter. Connection failures are retried only for
methods that are safe to repeat (GET, PUT, PATCH, DELETE); a POST that may have reached Graph is not repeated
here — the callers make creation idempotent by looking for what they created first.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from greenlight import telemetry
from greenlight.graph.auth import MsalTokenProvider, TokenProvider
from greenlight.graph.errors import (
    GraphAuthError,
    GraphBadRequest,
    GraphConfigurationError,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTransportError,
)
from greenlight.graph.settings import GraphSettings
from greenlight.graph.urls import INTUNE_API, ApiVersion, GraphUrls
from greenlight.numbers import ascii_int

log = logging.getLogger(__name__)
RETRY_STATUSES = {429, 503, 504}
IDEMPOTENT = {"GET", "PUT", "PATCH", "DELETE", "HEAD"}
MAX_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311 - not crypto


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    seconds = ascii_int(value)
    if seconds is not None:
        return float(seconds)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_from(response: httpx.Response, method: str, url: str) -> GraphError:
    code = message = None
    try:
        error = response.json().get("error", {})
        code, message = error.get("code"), error.get("message")
    except (ValueError, AttributeError):
        pass
    text = f"{method} {httpx.URL(url).path}: {message or response.reason_phrase}"
    kwargs = {
        "status": response.status_code,
        "code": code,
        "request_id": response.headers.get("request-id"),
        "client_request_id": response.headers.get("client-request-id"),
    }
    if response.status_code in (401, 403):
        return GraphAuthError(text, **kwargs)
    if response.status_code == 404:
        return GraphNotFound(text, **kwargs)
    if response.status_code in RETRY_STATUSES:
        return GraphThrottled(text, **kwargs)
    if 400 <= response.status_code < 500:
        return GraphBadRequest(text, **kwargs)
    return GraphError(text, **kwargs)


class GraphClient:
    def __init__(
        self,
        urls: GraphUrls,
        tokens: TokenProvider,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.urls = urls
        self._tokens = tokens
        self._http = http
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        version: ApiVersion = INTUNE_API,
    ) -> httpx.Response:
        """One logical call with retries; returns the successful response or raises a typed GraphError.
        Traced as one span (greenlight/telemetry.py) carrying the request id, the status and Graph's request-id."""
        with telemetry.graph_span(method, path_or_url) as span:
            response = await self._request(method, path_or_url, json=json, params=params, version=version)
            span.set_attribute("http.response.status_code", response.status_code)
            span.set_attribute("graph.request_id", response.headers.get("request-id", ""))
            return response

    async def _request(
        self, method: str, path_or_url: str, *, json: Any, params: dict[str, str] | None, version: ApiVersion
    ) -> httpx.Response:
        url = path_or_url if path_or_url.startswith("https://") or path_or_url.startswith("http://") else None
        if url is not None and not self.urls.is_own(url):
            raise GraphConfigurationError(f"refusing to send the Graph token to {httpx.URL(url).host}")
        url = url or self.urls.url(path_or_url, version)
        client_request_id = str(uuid.uuid4())
        attempt = 0
        while True:
            attempt += 1
            headers = {
                "Authorization": f"Bearer {await self._tokens.token()}",
                "client-request-id": client_request_id,
                "Accept": "application/json",
            }
            try:
                response = await self._http.request(method, url, json=json, params=params, headers=headers)
            except httpx.TransportError as error:
                if method not in IDEMPOTENT or attempt >= self._retry.max_attempts:
                    raise GraphTransportError(
                        f"{method} {httpx.URL(url).path}: {type(error).__name__}", client_request_id=client_request_id
                    ) from error
                await self._sleep(self._retry.backoff(attempt))
                continue
            if response.status_code < 400:
                return response
            if response.status_code in RETRY_STATUSES and attempt < self._retry.max_attempts:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = self._retry.backoff(attempt) if wait is None else min(wait, MAX_WAIT_SECONDS)
                log.info(
                    "graph %s %s answered %s; retry %d in %.1fs (request-id %s)",
                    method,
                    httpx.URL(url).path,
                    response.status_code,
                    attempt,
                    wait,
                    response.headers.get("request-id"),
                )
                await self._sleep(wait)
                continue
            raise _error_from(response, method, url)

    async def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return (await self.request("GET", path, **kwargs)).json()

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any] | None:
        response = await self.request("POST", path, json=body if body is not None else {}, **kwargs)
        return response.json() if response.content else None

    async def patch(self, path: str, body: Any, **kwargs: Any) -> None:
        await self.request("PATCH", path, json=body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> None:
        await self.request("DELETE", path, **kwargs)

    async def paged(
        self, path: str, *, params: dict[str, str] | None = None, version: ApiVersion = INTUNE_API
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink (only on the Graph host)."""
        page = await self.get(path, params=params, version=version)
        while True:
            for item in page.get("value", []):
                yield item
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = await self.get(next_link)


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """System trust, plus the given CA (the sandbox's locally)."""
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(ca_bundle)
    return context


@asynccontextmanager
async def open_graph_client(settings: GraphSettings, tokens: TokenProvider | None = None) -> AsyncIterator[GraphClient]:
    """A ready client for `settings` (MSAL tokens unless a provider is given); closes its connections on exit."""
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(verify=tls_context(settings.ca_bundle), timeout=timeout) as http:
        yield GraphClient(
            GraphUrls(settings.graph_url, allow_http_loopback=settings.allow_http_loopback),
            tokens or MsalTokenProvider(settings),
            http,
            retry=RetryPolicy(max_attempts=settings.max_attempts),
        )
