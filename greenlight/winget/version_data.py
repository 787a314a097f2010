"""The per-package versionData document (reference §3.2): which versions exist and where their manifests are."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from greenlight.winget import mszip, safe_yaml, versions
from greenlight.winget.errors import HostileInput, ManifestError, VersionNotFound

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class VersionEntry:
    version: str
    relative_path: str
    sha256: str  # lowercase hex
    arp_min_version: str | None = None
    arp_max_version: str | None = None


@dataclass(frozen=True)
class VersionData:
    package_id: str
    entries: tuple[VersionEntry, ...]

    def versions(self) -> list[str]:
        return sorted((e.version for e in self.entries), key=versions.sort_key, reverse=True)

    def find(self, version: str | None) -> VersionEntry:
        """Exact string first, then winget version equality; None means the latest."""
        if not self.entries:
            raise VersionNotFound(
                f"package {self.package_id}: versionData lists no versions", package_id=self.package_id
            )
        if version is None:
            latest = versions.latest([e.version for e in self.entries])
            return next(e for e in self.entries if e.version == latest)
        for entry in self.entries:
            if entry.version == version:
                return entry
        for entry in self.entries:
            if versions.equal(entry.version, version):
                return entry
        raise VersionNotFound(
            f"package {self.package_id}: version {version} is not in the verified versionData "
            f"(available: {', '.join(self.versions()[:10])})",
            package_id=self.package_id,
            link="versionData",
        )


def check_relative_path(path: str, package_id: str) -> str:
    """`rP` is opaque but must stay under manifests/ on the same base (reference §5 step 13)."""
    if (
        not isinstance(path, str)
        or not path.startswith("manifests/")
        or "\\" in path
        or "//" in path
        or "\x00" in path
        or "?" in path
        or "#" in path
        or posixpath.normpath(path) != path
        or any(part in ("..", ".") for part in path.split("/"))
    ):
        raise HostileInput(
            f"package {package_id}: manifest path {path!r} is not a safe relative path", package_id=package_id
        )
    return path


def parse(compressed: bytes, package_id: str) -> VersionData:
    document = safe_yaml.load(mszip.decompress(compressed), f"versionData of {package_id}")
    if not isinstance(document, dict):
        raise ManifestError(f"versionData of {package_id} is not a mapping", package_id=package_id)
    schema = str(document.get("sV", ""))
    if schema.split(".")[0] != "1":
        raise ManifestError(f"versionData of {package_id}: schema sV={schema!r} is not 1.x", package_id=package_id)
    raw_entries = document.get("vD")
    if not isinstance(raw_entries, list):
        raise ManifestError(f"versionData of {package_id}: field vD must be a list", package_id=package_id)
    entries = []
    for number, raw in enumerate(raw_entries):
        if not isinstance(raw, dict):
            raise ManifestError(f"versionData of {package_id}: vD[{number}] is not a mapping", package_id=package_id)
        version, path, digest = raw.get("v"), raw.get("rP"), raw.get("s256H")
        for field_name, value in (("v", version), ("rP", path), ("s256H", digest)):
            if not isinstance(value, str) or not value:
                raise ManifestError(
                    f"versionData of {package_id}: vD[{number}].{field_name} is missing", package_id=package_id
                )
        assert isinstance(digest, str) and isinstance(path, str) and isinstance(version, str)
        if not _SHA256.match(digest):
            raise ManifestError(
                f"versionData of {package_id}: vD[{number}].s256H is not a SHA-256", package_id=package_id
            )
        entries.append(
            VersionEntry(
                version=version,
                relative_path=check_relative_path(path, package_id),
                sha256=digest.lower(),
                arp_min_version=raw.get("aMiV"),
                arp_max_version=raw.get("aMaV"),
            )
        )
    return VersionData(package_id, tuple(entries))
