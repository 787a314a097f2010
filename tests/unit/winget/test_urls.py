"""Outbound URL rules, checked before any connection is made."""

from __future__ import annotations

import pytest

from greenlight.winget.errors import UnsafeUrl
from greenlight.winget.fetch import CdnClient
from greenlight.winget.urls import check_resolved, check_url


def test_names_resolving_to_loopback_are_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeUrl, match="private or special address"):
        check_resolved("localhost", 443, allow_loopback=False)
    check_resolved("localhost", 443, allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.winget.microsoft.com.evil.example/cache/source2.msix",
        "https://evil.example/cache/source2.msix",
    ],
)
def test_the_cdn_client_only_talks_to_allowed_hosts(url: str) -> None:
    client = CdnClient(allowed_hosts=frozenset({"cdn.winget.microsoft.com"}))
    try:
        with pytest.raises(UnsafeUrl, match="not in the allowed hosts"):
            client.get(url, what="source2.msix", max_bytes=100)
    finally:
        client.close()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a", "https://", "https://example.com/a b", "https://[::1]/x", "https://0.0.0.0/x"]
)
def test_malformed_or_special_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, "installer")


def test_public_https_urls_pass() -> None:
    assert check_url("https://github.com/a/b.exe", "installer") == "https://github.com/a/b.exe"
