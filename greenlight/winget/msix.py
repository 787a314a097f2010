"""Full verification of a signed source package (reference §5 steps 2-9), each failure with its own error."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from greenlight.winget import appx, pkcs7
from greenlight.winget.chain import validate_chain
from greenlight.winget.errors import (
    AppxDigestMismatch,
    IdentityMismatch,
    MalformedPackage,
    MissingSignature,
    PublisherMismatch,
    TimestampInvalid,
)
from greenlight.winget.trust import TIMESTAMP_EKU, TrustPolicy
from greenlight.winget.zipview import ZipView

MAX_MSIX = 64 * 1024 * 1024
MAX_EXPANDED = 512 * 1024 * 1024
INDEX_NAME = "Public/index.db"


@dataclass(frozen=True)
class VerifiedPackage:
    identity: appx.PackageIdentity
    signed: bool
    signed_at: dt.datetime | None  # RFC 3161 genTime
    signer_chain: list[str] = field(default_factory=list)
    timestamp_chain: list[str] = field(default_factory=list)
    digest_components: list[str] = field(default_factory=list)
    trust: str = ""


def verify_msix(
    data: bytes,
    policy: TrustPolicy | None,
    *,
    sinks: dict[str, Callable[[bytes], object]] | None = None,
    waive_signature: bool = False,
) -> VerifiedPackage:
    """Verify everything; `waive_signature=True` (tests of unsigned vectors only) checks layout and block map."""
    if len(data) > MAX_MSIX:
        raise MalformedPackage(f"source package is {len(data)} bytes; the limit is {MAX_MSIX}")
    view = ZipView(data, max_total_uncompressed=MAX_EXPANDED)
    signature_entry = view.get(appx.SIGNATURE_NAME)
    if signature_entry is None:
        if view.get(appx.CODE_INTEGRITY_NAME) is not None and not waive_signature:
            raise MalformedPackage("package has AppxMetadata/CodeIntegrity.cat but no AppxSignature.p7x")
        if not waive_signature:
            raise MissingSignature("source package is not signed (AppxSignature.p7x missing)", link="signature")
        if view.layout_problems:
            raise MalformedPackage("; ".join(view.layout_problems))
        blockmap = appx.parse_blockmap(view.read(appx.BLOCKMAP_NAME, appx.MAX_XML))
        appx.check_blockmap(view, blockmap, sinks)
        identity = appx.parse_identity(view.read(appx.MANIFEST_NAME, appx.MAX_XML))
        return VerifiedPackage(identity=identity, signed=False, signed_at=None, trust="waived")
    if policy is None:
        raise ValueError("a trust policy is required unless the signature is explicitly waived")

    info = pkcs7.parse_p7x(view.read(appx.SIGNATURE_NAME, pkcs7.MAX_P7X))
    blockmap = appx.parse_blockmap(view.read(appx.BLOCKMAP_NAME, appx.MAX_XML))
    if info.digest_algorithm != blockmap.hash_method:
        raise MalformedPackage(
            f"signature digest {info.digest_algorithm} differs from block map hash method {blockmap.hash_method}"
        )
    digest_size = hashlib.new(info.digest_algorithm).digest_size
    signed_parts = appx.parse_digest_blob(info.appx_digest, digest_size)
    actual_parts = appx.compute_digests(view, info.digest_algorithm)
    if set(signed_parts) != set(actual_parts):
        raise AppxDigestMismatch(
            sorted(set(signed_parts) ^ set(actual_parts)),
            {
                k: (signed_parts.get(k, b"").hex() or "absent", actual_parts.get(k, b"").hex() or "absent")
                for k in set(signed_parts) ^ set(actual_parts)
            },
        )
    bad = [
        k
        for k in ("AXPC", "AXCD", "AXCT", "AXBM", "AXCI")
        if k in signed_parts and not hmac.compare_digest(signed_parts[k], actual_parts[k])
    ]
    if bad:
        raise AppxDigestMismatch(bad, {k: (signed_parts[k].hex(), actual_parts[k].hex()) for k in bad})
    # Layout after the digests, so a re-zipped package is reported as the tampering it is.
    check_signature_last(view)
    if view.layout_problems:
        raise MalformedPackage("; ".join(view.layout_problems))
    appx.check_blockmap(view, blockmap, sinks)

    identity = appx.parse_identity(view.read(appx.MANIFEST_NAME, appx.MAX_XML))
    if not same_distinguished_name(identity.publisher, info.signer.subject):
        raise PublisherMismatch(
            f"AppxManifest publisher {identity.publisher!r} is not the signer {info.signer.subject.rfc4514_string()!r}",
            link="publisher",
        )
    pkcs7.verify_signer_signature(info)

    timestamp = pkcs7.parse_timestamp(info)
    timestamp_chain: list[str] = []
    if timestamp is None:
        if policy.require_timestamp:
            raise TimestampInvalid("source package signature has no RFC 3161 timestamp", link="timestamp")
        at = policy.at_time or dt.datetime.now(dt.UTC)
    else:
        at = timestamp.time
        tsa_chain = validate_chain(
            timestamp.signer, timestamp.certificates, policy.timestamp_roots, at, (TIMESTAMP_EKU,), "timestamp"
        )
        timestamp_chain = [c.subject.rfc4514_string() for c in tsa_chain]
    signer_chain = validate_chain(info.signer, info.certificates, policy.signing_roots, at, policy.leaf_ekus, "signer")

    if policy.expected_name is not None and identity.name != policy.expected_name:
        raise IdentityMismatch(f"package identity is {identity.name!r}, not {policy.expected_name!r}", link="identity")
    if policy.expected_family_name is not None and identity.family_name != policy.expected_family_name:
        raise IdentityMismatch(
            f"package family name is {identity.family_name!r}, not {policy.expected_family_name!r}", link="identity"
        )
    if policy.expected_name is not None and (identity.architecture or "neutral") != "neutral":
        raise IdentityMismatch(
            f"source package architecture is {identity.architecture!r}, not neutral", link="identity"
        )
    return VerifiedPackage(
        identity=identity,
        signed=True,
        signed_at=timestamp.time if timestamp else None,
        signer_chain=[c.subject.rfc4514_string() for c in signer_chain],
        timestamp_chain=timestamp_chain,
        digest_components=sorted(signed_parts),
        trust=policy.label,
    )


def check_signature_last(view: ZipView) -> None:
    """AppxSignature.p7x must be the last local record and the last central directory entry."""
    last_local = max(view.entries, key=lambda e: e.local_offset)
    if view.entries[-1].name != appx.SIGNATURE_NAME or last_local.name != appx.SIGNATURE_NAME:
        raise MalformedPackage("AppxSignature.p7x is not the last entry of the package")


_DN_PART = re.compile(r'\s*([A-Za-z0-9.]+)\s*=\s*("(?:[^"]|"")*"|(?:\\.|[^,+])*)\s*(?:[,+]|$)')
_KEY_ALIASES = {"S": "ST"}


def _parse_dn_string(text: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _DN_PART.match(text, pos)
        if not match or match.end() == pos:
            raise PublisherMismatch(f"cannot parse publisher name {text!r}", link="publisher")
        key, value = match.group(1).upper(), match.group(2).strip()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1].replace('""', '"')
        else:
            value = re.sub(r"\\(.)", r"\1", value)
        parts.append((_KEY_ALIASES.get(key, key), value))
        pos = match.end()
    return parts


def same_distinguished_name(publisher: str, subject: x509.Name) -> bool:
    """RDN-by-RDN comparison, order-insensitive (the manifest writes S= where the certificate has ST=)."""
    theirs = sorted((attr.rfc4514_attribute_name.upper(), str(attr.value)) for attr in subject)
    return sorted(_parse_dn_string(publisher)) == theirs
