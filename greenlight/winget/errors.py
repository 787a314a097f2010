"""Typed failures of WinGet verification.

Four families are kept apart because callers react differently to each (reference §5):
* `IntegrityFailure` — something was tampered with or corrupted: stop, never retry, alert.
* `Unverifiable` — the CDN or network did not answer (404, timeout): retry later; nothing is known to be wrong.
* `NotInIndex` / `VersionNotFound` — the reviewed index does not contain what was asked for: a search miss.
* `SourceRollback` — a source older than one already accepted: refuse (replay of an old, validly signed index).
Plus `HostileInput` for input refused before any trust decision (bombs, traversal, oversized or malformed data).
Every message names the package (when there is one), the link of the chain that broke and, for hash links,
both the expected and the actual hash.
"""

from __future__ import annotations


class WingetError(Exception):
    """Base of every WinGet verification error. `code` is a stable machine-readable name."""

    code = "winget_error"

    def __init__(self, message: str, *, package_id: str | None = None, link: str | None = None) -> None:
        super().__init__(message)
        self.package_id = package_id
        self.link = link

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


# ---------------------------------------------------------------- tampered / corrupted


class IntegrityFailure(WingetError):
    """Tampered or corrupted data (winget: APPINSTALLER_CLI_ERROR_SOURCE_DATA_INTEGRITY_FAILURE 0x8A15003F)."""

    code = "integrity_failure"


class HashMismatch(IntegrityFailure):
    """A content-addressed link of the chain does not hash to what the previous, verified link says."""

    code = "hash_mismatch"

    def __init__(self, *, link: str, expected: str, actual: str, package_id: str | None = None, what: str = "") -> None:
        who = f"package {package_id}: " if package_id else ""
        detail = f" ({what})" if what else ""
        super().__init__(
            f"{who}{link} hash mismatch{detail}: expected sha256 {expected.lower()}, got {actual.lower()}",
            package_id=package_id,
            link=link,
        )
        self.expected = expected.lower()
        self.actual = actual.lower()


class VersionDataHashMismatch(HashMismatch):
    code = "version_data_hash_mismatch"


class ManifestHashMismatch(HashMismatch):
    code = "manifest_hash_mismatch"


class InstallerHashMismatch(HashMismatch):
    code = "installer_hash_mismatch"


class AppxDigestMismatch(IntegrityFailure):
    """One of the signed APPX digest components (AXPC, AXCD, AXCT, AXBM, AXCI) does not match the file."""

    code = "appx_digest_mismatch"

    def __init__(self, components: list[str], details: dict[str, tuple[str, str]]) -> None:
        parts = "; ".join(f"{c}: signed {details[c][0]}, file {details[c][1]}" for c in components)
        super().__init__(f"source package APPX digest mismatch in {', '.join(components)} ({parts})", link="msix")
        self.components = components
        self.details = details


class BlockMapMismatch(IntegrityFailure):
    code = "blockmap_mismatch"

    def __init__(self, message: str, *, file_name: str | None = None) -> None:
        super().__init__(f"AppxBlockMap.xml does not match the package: {message}", link="blockmap")
        self.file_name = file_name


class SignatureInvalid(IntegrityFailure):
    """The PKCS#7 structure, signed attributes or RSA signature is wrong."""

    code = "signature_invalid"


class MissingSignature(IntegrityFailure):
    code = "missing_signature"


class TimestampInvalid(IntegrityFailure):
    code = "timestamp_invalid"


class UntrustedCertificateChain(IntegrityFailure):
    """The signer (or timestamp) certificate does not chain to a pinned root at the signing time."""

    code = "untrusted_certificate_chain"


class PublisherMismatch(IntegrityFailure):
    code = "publisher_mismatch"


class IdentityMismatch(IntegrityFailure):
    """The package is validly signed but is not the WinGet source (name, family name or architecture)."""

    code = "identity_mismatch"


class MissingVersionDataHash(IntegrityFailure):
    code = "missing_version_data_hash"


class ManifestMismatch(IntegrityFailure):
    """The verified manifest describes another package or version than the link that pointed to it."""

    code = "manifest_mismatch"


# ---------------------------------------------------------------- other outcomes


class Unverifiable(WingetError):
    """The CDN did not deliver (404, 5xx, timeout): unverifiable, retry later. Not evidence of tampering."""

    code = "unverifiable_retry_later"


class NotInIndex(WingetError):
    code = "not_in_index"


class VersionNotFound(WingetError):
    code = "version_not_found"


class SourceRollback(WingetError):
    """A validly signed source older than one already accepted (replay / stale CDN)."""

    code = "source_rollback"


class SourceStale(WingetError):
    """A validly signed source whose signing time is older than the configured maximum age (frozen CDN)."""

    code = "source_stale"


class UnsupportedIndexSchema(WingetError):
    code = "unsupported_index_schema"


class HostileInput(WingetError):
    """Input refused on its shape alone: oversized, bomb-like, traversal, malformed archive or YAML."""

    code = "hostile_input"


class MalformedPackage(HostileInput):
    """The MSIX/ZIP container breaks a layout rule (signature not last, gaps, duplicates, ZIP64 tricks...)."""

    code = "malformed_package"


class ManifestError(HostileInput):
    """A manifest or versionData document is not valid; the message names the field."""

    code = "manifest_invalid"


class UnsafeUrl(HostileInput):
    """A URL that Greenlight will not fetch: not https, a private address, not an allowed host."""

    code = "unsafe_url"


class NoSuitableInstaller(WingetError):
    """The verified manifest has no installer for the requested architecture / scope / types."""

    code = "no_suitable_installer"
