"""Which URLs Greenlight will fetch: https only, no credentials, no private or special addresses.

Loopback is allowed only when the caller says so (GREENLIGHT_ENV=local, where the sandbox lives on 127.0.0.1).
Names are checked again after DNS resolution in the fetcher, so a public name pointing inward is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from greenlight.winget.errors import UnsafeUrl, Unverifiable

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if address.is_loopback:
        return allow_loopback
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _address_allowed(address.ipv4_mapped, allow_loopback)
    return not (
        address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
    )


def check_url(
    url: str,
    what: str,
    *,
    allow_loopback: bool = False,
    allowed_hosts: frozenset[str] | None = None,
    package_id: str | None = None,
) -> str:
    """Return `url` if it may be fetched; otherwise raise UnsafeUrl naming `what` and the reason."""
    who = f"package {package_id}: " if package_id else ""
    if not isinstance(url, str) or len(url) > 2048 or any(c in url for c in "\r\n\x00 "):
        raise UnsafeUrl(f"{who}{what} is not a valid URL", package_id=package_id)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise UnsafeUrl(f"{who}{what} {url!r} is not https", package_id=package_id)
    if not host:
        raise UnsafeUrl(f"{who}{what} {url!r} has no host", package_id=package_id)
    if parts.username or parts.password:
        raise UnsafeUrl(f"{who}{what} {url!r} carries credentials", package_id=package_id)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and not _address_allowed(address, allow_loopback):
        raise UnsafeUrl(f"{who}{what} {url!r} points to a private or special address", package_id=package_id)
    if host in _LOOPBACK_NAMES and not allow_loopback:
        raise UnsafeUrl(f"{who}{what} {url!r} points to the local machine", package_id=package_id)
    if allowed_hosts is not None and host not in allowed_hosts:
        raise UnsafeUrl(f"{who}{what} host {host!r} is not in the allowed hosts", package_id=package_id)
    return url


def check_resolved(host: str, port: int, *, allow_loopback: bool) -> str:
    """Every address the name resolves to must be allowed (defeats DNS names that point inward); returns the
    first one, which the caller connects to so a second, different DNS answer cannot be used (rebinding)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        # A name that does not resolve (now) is the network's answer, not a hostile URL: retry later.
        raise Unverifiable(f"cannot resolve {host!r}: {error.strerror}: unverifiable, retry later") from None
    if not infos:
        raise Unverifiable(f"{host!r} has no address: unverifiable, retry later")
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not _address_allowed(address, allow_loopback):
            raise UnsafeUrl(f"{host!r} resolves to the private or special address {address}")
    return str(infos[0][4][0])
