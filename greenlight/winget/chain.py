"""Certificate path validation at a given time, written by hand (reference §7: cryptography's verifier targets
Web PKI and rejects Microsoft's critical extensions). Roots are trusted by fingerprint only."""

from __future__ import annotations

import datetime as dt

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID

from greenlight.winget.errors import UntrustedCertificateChain
from greenlight.winget.trust import fingerprint

MAX_DEPTH = 6


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _valid_at(cert: x509.Certificate, at: dt.datetime, what: str) -> None:
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise UntrustedCertificateChain(
            f"{what}: certificate {_name(cert)} is not valid at {at.isoformat()} "
            f"(valid {cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()})",
            link="certificate_chain",
        )


def _lenient(cert: x509.Certificate) -> asn1_x509.Certificate:
    # cryptography refuses some encodings real test certificates use (e.g. pathLen with CA=false);
    # asn1crypto reads them, and the signature checks still go through cryptography.
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca)
    except x509.ExtensionNotFound:
        return False
    except ValueError:
        value = _lenient(cert).basic_constraints_value
        return bool(value and value["ca"].native)


def ekus(cert: x509.Certificate) -> set[str]:
    try:
        usage = cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    except x509.ExtensionNotFound:
        return set()
    except ValueError:
        value = _lenient(cert).extended_key_usage_value
        return {oid.dotted for oid in value} if value else set()
    return {oid.dotted_string for oid in usage}


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def validate_chain(
    leaf: x509.Certificate,
    pool: list[x509.Certificate],
    roots: tuple[x509.Certificate, ...],
    at: dt.datetime,
    required_ekus: tuple[str, ...],
    what: str,
) -> list[x509.Certificate]:
    """Leaf → intermediates from `pool` → one of `roots` (by fingerprint), every link valid at `at`."""
    missing = [eku for eku in required_ekus if eku not in ekus(leaf)]
    if missing:
        raise UntrustedCertificateChain(
            f"{what}: signer {_name(leaf)} lacks extended key usage {', '.join(missing)}", link="certificate_chain"
        )
    pinned = {fingerprint(root): root for root in roots}
    chain = [leaf]
    current = leaf
    for _ in range(MAX_DEPTH):
        _valid_at(current, at, what)
        if fingerprint(current) in pinned:
            return chain
        issuer = None
        for candidate in [*roots, *pool]:
            if candidate in chain and candidate is not current:
                continue
            if candidate.subject != current.issuer or fingerprint(candidate) == fingerprint(current):
                continue
            if fingerprint(candidate) not in pinned and not _is_ca(candidate):
                continue
            if _issued_by(current, candidate):
                issuer = candidate
                break
        if issuer is None:
            unsupported = any(
                c.subject == current.issuer and not _issued_by(current, c) and _sha1(current) for c in [*roots, *pool]
            )
            hint = " (SHA-1 certificate signatures are not supported)" if unsupported or _sha1(current) else ""
            raise UntrustedCertificateChain(
                f"{what}: no trusted issuer for {_name(current)} (issuer {current.issuer.rfc4514_string()}){hint}",
                link="certificate_chain",
            )
        if fingerprint(issuer) not in pinned and not _is_ca(issuer):
            raise UntrustedCertificateChain(f"{what}: {_name(issuer)} is not a CA", link="certificate_chain")
        chain.append(issuer)
        current = issuer
    raise UntrustedCertificateChain(f"{what}: certificate chain longer than {MAX_DEPTH}", link="certificate_chain")


def _sha1(cert: x509.Certificate) -> bool:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return False
    return algorithm is not None and algorithm.name == "sha1"
