"""Trust anchors and the policy a source package is verified under.

Production pins Microsoft Root Certificate Authority 2011 (signing chain) and 2010 (timestamp chain) by the
SHA-256 of their DER encoding; the PEM files ship in `greenlight/winget/trust/` and are checked against the
fingerprints below at load time, so a swapped file cannot widen trust. Other anchors (the sandbox's test CA)
come from a PEM file named by a setting; everything else in the policy stays the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from greenlight.winget.errors import WingetError

TRUST_DIR = Path(__file__).resolve().parent / "trust"
MICROSOFT_RCA_2011_SHA256 = "847df6a78497943f27fc72eb93f9a637320a02b561d0a91b09e87a7807ed7c61"
MICROSOFT_RCA_2010_SHA256 = "df545bf919a2439c36983b54cdfc903dfa4f37d3996d8d84b4c31eec6f3c163e"

WINGET_SOURCE_NAME = "Microsoft.Winget.Source"
WINGET_SOURCE_FAMILY = "Microsoft.Winget.Source_8wekyb3d8bbwe"
CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3"
STORE_EKU = "1.3.6.1.4.1.311.76.3.1"
TIMESTAMP_EKU = "1.3.6.1.5.5.7.3.8"


class TrustConfigurationError(WingetError):
    code = "trust_configuration"


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class TrustPolicy:
    """What a valid source package must satisfy besides its own internal consistency."""

    signing_roots: tuple[x509.Certificate, ...]
    timestamp_roots: tuple[x509.Certificate, ...]
    require_timestamp: bool = True
    leaf_ekus: tuple[str, ...] = (CODE_SIGNING_EKU, STORE_EKU)
    # None disables the identity checks (only for verifying arbitrary MSIX test vectors).
    expected_name: str | None = WINGET_SOURCE_NAME
    expected_family_name: str | None = WINGET_SOURCE_FAMILY
    # Chain evaluation time when the package has no timestamp and none is required; default: now.
    at_time: dt.datetime | None = None
    label: str = "custom"


def load_certificates(path: Path) -> tuple[x509.Certificate, ...]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise TrustConfigurationError(f"cannot read trust anchor file {path}: {error.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            certs = tuple(x509.load_pem_x509_certificates(data))
        else:
            certs = (x509.load_der_x509_certificate(data),)
    except ValueError:
        raise TrustConfigurationError(f"{path} does not contain X.509 certificates") from None
    if not certs:
        raise TrustConfigurationError(f"{path} contains no certificate")
    return certs


def _pinned(name: str, expected: str) -> x509.Certificate:
    (cert,) = load_certificates(TRUST_DIR / name)
    if fingerprint(cert) != expected:
        raise TrustConfigurationError(f"bundled {name} does not match its pinned SHA-256 {expected}")
    return cert


def microsoft_policy() -> TrustPolicy:
    """The production policy: Microsoft's Store-signed WinGet community source."""
    return TrustPolicy(
        signing_roots=(_pinned("microsoft-root-ca-2011.pem", MICROSOFT_RCA_2011_SHA256),),
        timestamp_roots=(_pinned("microsoft-root-ca-2010.pem", MICROSOFT_RCA_2010_SHA256),),
        label="microsoft",
    )


def file_policy(path: Path) -> TrustPolicy:
    """Same checks as production, but anchored at the roots in `path` (the sandbox's test CA)."""
    roots = load_certificates(path)
    # The label keys cached verifications: it names the file AND its content, so a regenerated root at the
    # same path never reuses a verification made under the old one.
    digest = hashlib.sha256("".join(sorted(fingerprint(r) for r in roots)).encode()).hexdigest()[:16]
    return TrustPolicy(signing_roots=roots, timestamp_roots=roots, label=f"{path}#{digest}")


def policy_for(trust: str) -> TrustPolicy:
    """`microsoft` or a path to a PEM/DER file of root certificates."""
    if trust.strip().lower() == "microsoft":
        return microsoft_policy()
    return file_policy(Path(trust).expanduser())
