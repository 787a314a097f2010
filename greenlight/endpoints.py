"""The one rule for where Greenlight may send a request: https, or plain http to loopback in local runs only.

Callers pass `allow_http_loopback` from their settings (true only when GREENLIGHT_ENV=local), so the rule has no
hidden local exception. Host allowlists and private-address checks are layered on top by the callers that need them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback_host(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS


def is_secure_endpoint(url: str, *, allow_http_loopback: bool) -> bool:
    """True for an absolute https URL, or an http URL to loopback when `allow_http_loopback` is set."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and allow_http_loopback and is_loopback_host(parts.hostname)
