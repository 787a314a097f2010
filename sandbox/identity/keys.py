"""The sandbox's token-signing keys: RSA keys under STATE_DIR/entra/keys, the newest one signs.

Files, not memory, so `mint_user_token` in a test process signs with the same key the sandbox process publishes,
and a rotation (a new key; the old one stays published) is seen by both at once.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "alg": "RS256", "n": jwk["n"], "e": jwk["e"]}


def keys_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "entra" / "keys"


def _kid_of(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:15]).decode()


def generate_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(_kid_of(private), private)


def _write(directory: Path, key: SigningKey) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Each key file is named by a sortable sequence so "newest" needs no clock; written aside, then renamed.
    sequence = len(list(directory.glob("*.pem")))
    temporary = directory / f".{key.kid}.tmp"
    temporary.write_bytes(pem)
    temporary.chmod(0o600)
    os.replace(temporary, directory / f"{sequence:04d}-{key.kid}.pem")


def load_keys(state_dir: Path) -> list[SigningKey]:
    """Every published key, oldest first."""
    directory = keys_dir(state_dir)
    result = []
    for path in sorted(directory.glob("*.pem")):
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        result.append(SigningKey(path.stem.split("-", 1)[1], private))
    return result


def ensure_signing_key(state_dir: Path) -> SigningKey:
    keys = load_keys(state_dir)
    if keys:
        return keys[-1]
    key = generate_key()
    _write(keys_dir(state_dir), key)
    return load_keys(state_dir)[-1]


def active_key(state_dir: Path) -> SigningKey:
    keys = load_keys(state_dir)
    if not keys:
        raise FileNotFoundError(f"no sandbox signing key under {keys_dir(state_dir)}; is the sandbox started?")
    return keys[-1]


def rotate_signing_key(state_dir: Path) -> SigningKey:
    """Add a new signing key; older keys stay in the JWKS (as Entra keeps them during a rollover)."""
    key = generate_key()
    _write(keys_dir(state_dir), key)
    return key


def jwks(state_dir: Path) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in reversed(load_keys(state_dir))]}
