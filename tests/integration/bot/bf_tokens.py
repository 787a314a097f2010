"""Bot Framework tokens offline: an RSA key of our own, placed where botbuilder caches the channel's signing keys.

botbuilder fetches the keys from login.botframework.com (no network here); pre-seeding its metadata cache is the
one substitution, everything that validates the token is botbuilder's own code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

APP_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
KID = "greenlight-test-kid"


@dataclass(frozen=True)
class Signer:
    """Signs Bot Framework-shaped tokens with the key botbuilder was told to trust."""

    key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey

    def token(self, **overrides: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "serviceurl": SERVICE_URL,
            "nbf": now - dt.timedelta(minutes=1),
            "exp": now + dt.timedelta(minutes=30),
        }
        kid = overrides.pop("kid", KID)
        key = overrides.pop("key", self.key)
        claims.update(overrides)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def install_signing_key() -> tuple[Signer, Callable[[], None]]:
    """Trust a fresh key for the channel (endorsed for msteams); returns the signer and a function undoing it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=KID, endorsements=["msteams"])
    url = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    metadata = _OpenIdMetadata(url)
    metadata.keys = [jwk]
    metadata.last_updated = dt.datetime.now()
    previous = JwtTokenExtractor.metadataCache.get(url)
    JwtTokenExtractor.metadataCache[url] = metadata

    def restore() -> None:
        if previous is None:
            JwtTokenExtractor.metadataCache.pop(url, None)
        else:
            JwtTokenExtractor.metadataCache[url] = previous

    return Signer(key, other), restore
