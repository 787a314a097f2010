"""Client authentication at the token endpoint: a shared secret, or a certificate-signed client assertion.

Any client id may use the secret from the sandbox option `entra_client_secret` (default `sandbox-secret`).
Certificate clients are registered by dropping their certificate in STATE_DIR/entra/clients/{client_id}/ (see
`register_client_certificate`); their assertion must be signed by that certificate's key (PS256 or RS256), name the
client as `iss` and `sub`, target this token endpoint as `aud`, and be unexpired.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
_SKEW = 300


@dataclass(frozen=True)
class ClientError(Exception):
    """An OAuth error answer: `error` code, AADSTS-style description, HTTP status."""

    error: str
    description: str
    status: int = 401


def _thumbprint(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> str:
    return base64.urlsafe_b64encode(cert.fingerprint(algorithm)).decode().rstrip("=")


def clients_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "entra" / "clients"


def register_client_certificate(state_dir: Path, client_id: str, certificate_pem: bytes) -> Path:
    cert = x509.load_pem_x509_certificate(certificate_pem)
    directory = clients_dir(state_dir) / client_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{cert.fingerprint(hashes.SHA256()).hex()}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _certificates(state_dir: Path, client_id: str) -> list[x509.Certificate]:
    directory = clients_dir(state_dir) / client_id
    if "/" in client_id or client_id.startswith(".") or not directory.is_dir():
        return []
    return [x509.load_pem_x509_certificate(p.read_bytes()) for p in sorted(directory.glob("*.pem"))]


def authenticate(
    form: dict[str, str], authorization: str | None, *, state_dir: Path, expected_secret: str, token_endpoint: str
) -> str:
    """Return the authenticated client id or raise ClientError."""
    client_id = form.get("client_id", "")
    secret = form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ClientError("invalid_client", "AADSTS7000216: malformed Basic credentials") from None
        client_id, _, secret = decoded.partition(":")
    if not client_id:
        raise ClientError("invalid_request", "AADSTS900144: The request body must contain: 'client_id'.", 400)
    if secret is not None:
        if not hmac.compare_digest(secret.encode(), expected_secret.encode()):
            raise ClientError("invalid_client", "AADSTS7000215: Invalid client secret provided.")
        return client_id
    if form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
        _verify_assertion(form["client_assertion"], client_id, state_dir, token_endpoint)
        return client_id
    raise ClientError(
        "invalid_client",
        "AADSTS7000218: The request body must contain 'client_assertion' or 'client_secret'.",
    )


def _verify_assertion(assertion: str, client_id: str, state_dir: Path, token_endpoint: str) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise ClientError("invalid_client", "AADSTS50027: client assertion is not a JWT") from None
    certificates = _certificates(state_dir, client_id)
    # base64url with or without padding (MSAL keeps the "=").
    wanted_256, wanted_1 = (str(header.get(h) or "").rstrip("=") for h in ("x5t#S256", "x5t"))
    cert = next(
        (
            c
            for c in certificates
            if (wanted_256 and hmac.compare_digest(_thumbprint(c, hashes.SHA256()), wanted_256))
            or (wanted_1 and hmac.compare_digest(_thumbprint(c, hashes.SHA1()), wanted_1))  # noqa: S303 - x5t is SHA-1
        ),
        None,
    )
    if cert is None:
        raise ClientError(
            "invalid_client",
            f"AADSTS700027: the certificate with identifier in the assertion is not registered for {client_id}",
        )
    try:
        claims = jwt.decode(
            assertion,
            cert.public_key(),
            algorithms=["PS256", "RS256"],
            audience=token_endpoint,
            leeway=_SKEW,
            options={"require": ["aud", "iss", "sub", "exp"]},
        )
    except jwt.PyJWTError as error:
        raise ClientError("invalid_client", f"AADSTS700027: client assertion failed validation: {error}") from None
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise ClientError("invalid_client", "AADSTS700023: assertion iss and sub must equal the client id")
    if claims["exp"] > time.time() + 3600 + _SKEW:
        raise ClientError("invalid_client", "AADSTS700024: client assertion lifetime is too long")
