"""Entra ID bearer-token validation: signature by the tenant's JWKS, issuer, audience, lifetime, algorithm allowlist.

The signing keys come from the OpenID metadata's `jwks_uri`, are cached, and are re-fetched when a token names a
key id the cache does not know (Entra rolls keys over), at most once per `min_refresh_seconds`.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from greenlight.endpoints import is_secure_endpoint
from greenlight.settings import AuthSettings

log = logging.getLogger("greenlight.api.auth")

ALLOWED_ALGORITHMS = ("RS256",)  # Entra signs access tokens with RS256; `none`, HS* and the rest are refused


class AuthError(Exception):
    """The token is missing or invalid (answered 401); the message says why without echoing the token."""


class AuthUnavailable(Exception):
    """The signing keys cannot be fetched right now (answered 503): not the caller's fault."""


def _check_url(url: str, allow_http_loopback: bool, what: str) -> str:
    if is_secure_endpoint(url, allow_http_loopback=allow_http_loopback):
        return url
    raise AuthUnavailable(f"{what} must be https, got {url!r}")


class JwksCache:
    def __init__(
        self,
        metadata_url: str,
        *,
        ca_bundle: str | None = None,
        allow_http_loopback: bool = False,
        ttl_seconds: float = 24 * 3600,
        min_refresh_seconds: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metadata_url = _check_url(metadata_url, allow_http_loopback, "the OpenID metadata URL")
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._allow_http_loopback = allow_http_loopback
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def key(self, kid: str) -> Any:
        """The public key for `kid`; refreshes once when it is unknown or the cache is stale."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
            if stale or (kid not in self._keys and now - (self._fetched_at or 0) >= self._min_refresh):
                self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise AuthError("the token is signed with a key this tenant does not publish")
        return key

    def _refresh(self, now: float) -> None:
        try:
            with httpx.Client(verify=self._verify, timeout=5.0, follow_redirects=False) as client:
                metadata = client.get(self._metadata_url)
                metadata.raise_for_status()
                jwks_uri = _check_url(str(metadata.json()["jwks_uri"]), self._allow_http_loopback, "jwks_uri")
                response = client.get(jwks_uri)
                response.raise_for_status()
                documents = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            if self._keys:  # keep validating with the keys we have; Entra keeps old keys published for weeks
                log.warning("refreshing signing keys failed (%s); keeping %d cached keys", error, len(self._keys))
                self._fetched_at = now - self._ttl + self._min_refresh  # try again after the minimum interval
                return
            raise AuthUnavailable(f"cannot fetch the signing keys: {type(error).__name__}") from error
        keys = {}
        for document in documents:
            if document.get("kty") != "RSA" or document.get("use", "sig") != "sig" or "kid" not in document:
                continue
            try:
                keys[document["kid"]] = jwt.PyJWK(document, algorithm="RS256").key
            except jwt.PyJWTError:
                log.warning("ignoring an unusable JWKS entry %s", document.get("kid"))
        self._keys = keys
        self._fetched_at = now
        self.fetch_count += 1


@dataclass(frozen=True)
class TokenValidator:
    settings: AuthSettings
    jwks: JwksCache

    @classmethod
    def from_settings(cls, settings: AuthSettings, **jwks_options: Any) -> TokenValidator:
        cache = JwksCache(
            settings.metadata_url,
            ca_bundle=settings.ca_bundle,
            allow_http_loopback=settings.allow_http_loopback,
            **jwks_options,
        )
        return cls(settings, cache)

    def validate_header(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise AuthError("the request has no Authorization header; send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        return self.validate(token.strip())

    def validate(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise AuthError(f"token algorithm {algorithm!r} is not allowed (only {', '.join(ALLOWED_ALGORITHMS)})")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token header has no key id (kid)")
        key = self.jwks.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALLOWED_ALGORITHMS),
                audience=list(self.settings.audiences),
                issuer=self.settings.issuer,
                leeway=self.settings.clock_skew_seconds,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("the token was issued by another issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthError("the token signature does not verify") from None
        except jwt.PyJWTError as error:
            raise AuthError(f"the token is invalid: {error}") from None
        if str(claims.get("tid", "")).lower() != self.settings.tenant_id:
            raise AuthError("the token is from another tenant")
        if not claims.get("oid"):
            raise AuthError("the token has no object id (oid)")
        return claims
