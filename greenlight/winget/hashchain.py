"""The content-addressed links after the signature (reference §2.3): index row → versionData → manifest.

Each link's bytes are hashed before they are parsed; a mismatch names the package, the link and both hashes.
Verified files are kept in a content-addressed cache and re-hashed on every read (as winget's FileCache does).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from greenlight.winget import manifest as manifest_module
from greenlight.winget import version_data
from greenlight.winget.errors import (
    ManifestHashMismatch,
    ManifestMismatch,
    MissingVersionDataHash,
    NotInIndex,
    VersionDataHashMismatch,
)
from greenlight.winget.fetch import CdnClient
from greenlight.winget.index import IndexPackage, check_package_id
from greenlight.winget.source import OpenSource

log = logging.getLogger(__name__)
MAX_SMALL_FILE = 4 * 1024 * 1024


class BlobCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, sha256: str) -> bytes | None:
        path = self.directory / sha256
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            log.warning("cached blob %s is corrupt; deleting it", sha256)
            path.unlink(missing_ok=True)
            return None
        return data

    def put(self, sha256: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{sha256}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.directory / sha256)


@dataclass(frozen=True)
class VerifiedManifest:
    manifest: manifest_module.Manifest
    entry: version_data.VersionEntry
    package: IndexPackage
    source_version: str
    version_data_sha256: str
    manifest_sha256: str
    raw: bytes  # the verified merged manifest, as served
    versions: tuple[str, ...] = ()  # every version in the verified versionData, newest first


class HashChain:
    def __init__(
        self, source: OpenSource, client: CdnClient, cache: BlobCache | None = None, *, allow_loopback: bool = False
    ) -> None:
        if source.base_url is None:
            raise ValueError("the hash chain needs the CDN base URL of the source")
        self.source = source
        self.base_url = source.base_url
        self.client = client
        self.cache = cache
        self.allow_loopback = allow_loopback

    def package_row(self, package_id: str) -> IndexPackage:
        check_package_id(package_id)
        row = self.source.index.get(package_id)
        if row is None:
            near = self.source.index.near_misses(package_id)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise NotInIndex(
                f"package {package_id} is not in the reviewed WinGet index {self.source.version}{hint}",
                package_id=package_id,
                link="index",
            )
        if not row.hash:
            raise MissingVersionDataHash(
                f"package {package_id}: index row has no version data hash; winget requires one",
                package_id=package_id,
                link="index",
            )
        return row

    def _fetch_verified(self, url: str, expected: str, *, link: str, package_id: str, error: type) -> bytes:
        if self.cache is not None and (cached := self.cache.get(expected)) is not None:
            return cached
        fetched = self.client.get(url, what=link, max_bytes=MAX_SMALL_FILE, package_id=package_id)
        assert fetched.content is not None
        actual = hashlib.sha256(fetched.content).hexdigest()
        if actual != expected:
            raise error(link=link, expected=expected, actual=actual, package_id=package_id, what=url)
        if self.cache is not None:
            self.cache.put(expected, fetched.content)
        return fetched.content

    def version_data(self, package_id: str) -> tuple[IndexPackage, version_data.VersionData]:
        row = self.package_row(package_id)
        assert row.hash is not None
        # The id from the index, not the caller's spelling (case matters on the CDN); quoted for HTTP safety.
        url = f"{self.base_url}/packages/{quote(row.id, safe='')}/{row.hash[:8]}/versionData.mszyml"
        data = self._fetch_verified(url, row.hash, link="versionData", package_id=row.id, error=VersionDataHashMismatch)
        return row, version_data.parse(data, row.id)

    def manifest(self, package_id: str, version: str | None = None) -> VerifiedManifest:
        row, data = self.version_data(package_id)
        entry = data.find(version)
        url = f"{self.base_url}/{version_data.check_relative_path(entry.relative_path, row.id)}"
        raw = self._fetch_verified(url, entry.sha256, link="manifest", package_id=row.id, error=ManifestHashMismatch)
        parsed = manifest_module.parse_merged(
            raw, allow_loopback=self.allow_loopback, what=f"manifest of {row.id} {entry.version}"
        )
        if parsed.package_id != row.id or parsed.version != entry.version:
            raise ManifestMismatch(
                f"package {row.id}: manifest at {entry.relative_path} describes {parsed.package_id} {parsed.version}, "
                f"not {row.id} {entry.version}",
                package_id=row.id,
                link="manifest",
            )
        return VerifiedManifest(
            parsed, entry, row, self.source.version, row.hash or "", entry.sha256, raw, tuple(data.versions())
        )
