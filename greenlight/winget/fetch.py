"""Outbound HTTP for the WinGet chain: https only, allowlisted CDN hosts, size caps, typed failures.

A 404, 5xx or network error is `Unverifiable` (retry later), never an integrity failure: nothing is known to be
wrong with data that did not arrive (reference §10).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from greenlight.numbers import declares_more_than
from greenlight.winget.errors import HostileInput, InstallerHashMismatch, Unverifiable
from greenlight.winget.urls import check_resolved, check_url

USER_AGENT = "Greenlight-WinGet-Verifier/1"
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    content: bytes | None  # None on 304 Not Modified
    etag: str | None
    headers: dict[str, str]


class CdnClient:
    def __init__(
        self,
        *,
        allowed_hosts: frozenset[str],
        allow_loopback: bool = False,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        retries: int = 1,
    ) -> None:
        self.allowed_hosts = allowed_hosts
        self.allow_loopback = allow_loopback
        self.retries = retries
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        # One connection pool per host name: connections are opened to a pinned IP address, and a pooled TLS
        # connection verified for one name must never carry a request for another name on the same address.
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client_for(self, host: str) -> httpx.Client:
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                client = httpx.Client(
                    verify=self._ca_bundle if self._ca_bundle else True,
                    timeout=self._timeout,
                    follow_redirects=False,  # redirects are followed by hand, re-checking every hop
                    headers={"User-Agent": USER_AGENT},
                    trust_env=False,
                )
                self._clients[host] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _check(self, url: str, what: str, hosts: frozenset[str] | None) -> tuple[str, dict[str, str], dict[str, str]]:
        """Check `url`, then pin it to the checked address: (URL with the IP, Host header, TLS SNI extension).
        The certificate is still verified against the original host name (httpcore's `sni_hostname`)."""
        check_url(url, what, allow_loopback=self.allow_loopback, allowed_hosts=hosts)
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = check_resolved(host, parts.port or 443, allow_loopback=self.allow_loopback)
        try:
            ipaddress.ip_address(host)
            return url, {}, {}  # already an address
        except ValueError:
            pass
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        host_header = f"{host}:{parts.port}" if parts.port else host
        return pinned, {"Host": host_header}, {"sni_hostname": host}

    def get(
        self, url: str, *, what: str, max_bytes: int, etag: str | None = None, package_id: str | None = None
    ) -> Fetched:
        """GET with a size cap; one retry on 5xx / network errors (winget retries once too)."""
        pinned, headers, extensions = self._check(url, what, self.allowed_hosts)
        if etag:
            headers["If-None-Match"] = etag
        last_error = ""
        for attempt in range(self.retries + 1):
            try:
                client = self._client_for(urlsplit(url).hostname or "")
                with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                    if response.status_code == 304:
                        return Fetched(None, etag, dict(response.headers))
                    if response.status_code == 404:
                        raise Unverifiable(
                            f"{what} is not on the CDN (404 at {url}): unverifiable, retry later",
                            package_id=package_id,
                            link=what,
                        )
                    if response.status_code >= 500 or response.status_code == 429:
                        last_error = f"HTTP {response.status_code}"
                    elif response.status_code != 200:
                        raise Unverifiable(
                            f"{what}: CDN answered HTTP {response.status_code} at {url}: unverifiable, retry later",
                            package_id=package_id,
                            link=what,
                        )
                    else:
                        declared = response.headers.get("content-length")
                        if declares_more_than(declared, max_bytes):
                            raise HostileInput(
                                f"{what} is {declared} bytes; the limit is {max_bytes}", package_id=package_id
                            )
                        body = bytearray()
                        for chunk in response.iter_bytes():
                            body += chunk
                            if len(body) > max_bytes:
                                raise HostileInput(f"{what} exceeds {max_bytes} bytes; refused", package_id=package_id)
                        return Fetched(bytes(body), response.headers.get("etag"), dict(response.headers))
            except httpx.HTTPError as error:
                last_error = f"{type(error).__name__}: {error}"
            if attempt < self.retries:
                time.sleep(0.5)
        raise Unverifiable(
            f"{what} could not be fetched from {url} ({last_error}): unverifiable, retry later",
            package_id=package_id,
            link=what,
        )

    def iter_installer(
        self,
        url: str,
        expected_sha256: str,
        *,
        package_id: str,
        max_bytes: int = 8 * 1024 * 1024 * 1024,
        allowed_hosts: frozenset[str] | None = None,
        chunk_size: int = 1024 * 1024,
    ) -> Iterator[bytes]:
        """Yield an installer's bytes, hashing on the fly; raises InstallerHashMismatch after the last chunk and
        before the generator finishes, so a consumer that commits only on completion (block-list upload) never
        commits a wrong binary."""
        digest = hashlib.sha256()
        size = 0
        with self._stream(url, package_id, allowed_hosts) as response:
            for chunk in response.iter_bytes(chunk_size):
                size += len(chunk)
                if size > max_bytes:
                    raise HostileInput(
                        f"package {package_id}: installer exceeds {max_bytes} bytes", package_id=package_id
                    )
                digest.update(chunk)
                yield chunk
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise InstallerHashMismatch(
                link="installer", expected=expected_sha256, actual=actual, package_id=package_id, what=url
            )

    def download_installer(
        self,
        url: str,
        expected_sha256: str,
        sink: BinaryIO,
        *,
        package_id: str,
        max_bytes: int = 8 * 1024 * 1024 * 1024,
        allowed_hosts: frozenset[str] | None = None,
    ) -> int:
        """Stream an installer into `sink` (see iter_installer); the caller discards `sink` when this raises."""
        size = 0
        for chunk in self.iter_installer(
            url, expected_sha256, package_id=package_id, max_bytes=max_bytes, allowed_hosts=allowed_hosts
        ):
            sink.write(chunk)
            size += len(chunk)
        return size

    @contextmanager
    def open_installer(
        self, url: str, *, package_id: str, allowed_hosts: frozenset[str] | None = None, offset: int = 0
    ) -> Iterator[tuple[httpx.Response, int]]:
        """The installer's response from byte `offset` on (HTTP Range), with the same guards as iter_installer.
        Yields (response, skip): `skip` bytes of the body precede `offset` when the server ignored the Range and
        answered 200 with the whole file; the caller drops them."""
        with self._stream(url, package_id, allowed_hosts, offset) as response:
            yield response, (offset if response.status_code == 200 else 0)

    @contextmanager
    def _stream(
        self, url: str, package_id: str, allowed_hosts: frozenset[str] | None, offset: int = 0
    ) -> Iterator[httpx.Response]:
        """GET an installer, following up to MAX_REDIRECTS redirects (release downloads redirect to their CDN);
        every hop is checked like the first URL: https, public address, allowed host. With `offset`, a Range
        request; 206 must start at `offset`."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            pinned, headers, extensions = self._check(current, "installer", allowed_hosts)
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                client = self._client_for(urlsplit(current).hostname or "")
                with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            raise Unverifiable(
                                f"package {package_id}: installer redirect without a location", package_id=package_id
                            )
                        current = urljoin(current, location)
                        continue
                    partial = offset and response.status_code == 206
                    if partial and not response.headers.get("content-range", "").startswith(f"bytes {offset}-"):
                        raise Unverifiable(
                            f"package {package_id}: installer range answer does not start at byte {offset}",
                            package_id=package_id,
                            link="installer",
                        )
                    if response.status_code != 200 and not partial:
                        raise Unverifiable(
                            f"package {package_id}: installer download answered HTTP {response.status_code}: "
                            "retry later",
                            package_id=package_id,
                            link="installer",
                        )
                    yield response
                    return
            except httpx.HTTPError as error:
                raise Unverifiable(
                    f"package {package_id}: installer download failed ({type(error).__name__}): retry later",
                    package_id=package_id,
                    link="installer",
                ) from None
        raise Unverifiable(f"package {package_id}: more than {MAX_REDIRECTS} redirects", package_id=package_id)
