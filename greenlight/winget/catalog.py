"""The catalog the bot and the API search: a verified source, opened once per process and refreshed by ETag.

`get_catalog()` is the process-wide instance built from `WingetSettings.from_env()`. Searching never touches
the network; `package()` walks the hash chain for versions and description (verified, content-cached).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from greenlight.winget.errors import WingetError
from greenlight.winget.fetch import CdnClient
from greenlight.winget.hashchain import BlobCache, HashChain, VerifiedManifest
from greenlight.winget.index import IndexPackage, check_package_id
from greenlight.winget.manifest import Installer
from greenlight.winget.settings import WingetSettings
from greenlight.winget.shared_cache import SharedSourceCache
from greenlight.winget.source import OpenSource, SourceStore
from greenlight.winget.trust import policy_for

log = logging.getLogger(__name__)


class CatalogUnavailable(WingetError):
    """The signed source could not be fetched or verified; `message` is fit to show a user."""

    code = "catalog_unavailable"


@dataclass(frozen=True)
class CatalogEntry:
    package_id: str
    name: str
    publisher: str  # the index keeps only a normalised publisher; details carry the manifest's spelling
    version: str  # latest version in the index
    moniker: str | None


@dataclass(frozen=True)
class PackageDetails:
    package_id: str
    name: str
    publisher: str
    version: str
    moniker: str | None
    versions: list[str] = field(default_factory=list)  # newest first
    description: str | None = None
    tags: tuple[str, ...] = ()
    homepage: str | None = None
    license: str | None = None
    manifest_sha256: str | None = None
    source_version: str | None = None


class Catalog:
    def __init__(
        self, source: OpenSource, chain: HashChain | None = None, installer_hosts: frozenset[str] | None = None
    ) -> None:
        self.source = source
        self.chain = chain
        self.installer_hosts = installer_hosts
        self.store: SourceStore | None = None  # set by open_catalog: what refreshes this catalog
        self._publishers = source.index.publishers() if source.index.major == "2" else {}

    @property
    def source_version(self) -> str:
        return self.source.version

    def search(self, text: str, limit: int = 20) -> list[CatalogEntry]:
        limit = max(1, min(int(limit), 100))
        return [self._entry(hit.package) for hit in self.source.index.search(text[:200], limit)]

    def _entry(self, package: IndexPackage) -> CatalogEntry:
        return CatalogEntry(
            package_id=package.id,
            name=package.name,
            publisher=self._publishers.get(package.rowid, ""),
            version=package.latest_version,
            moniker=package.moniker,
        )

    def package(self, package_id: str, version: str | None = None) -> PackageDetails | None:
        """Details from the verified chain; None when the package is not in the index."""
        row = self.source.index.get(check_package_id(package_id))
        if row is None:
            return None
        if self.chain is None:
            entry = self._entry(row)
            return PackageDetails(**entry.__dict__, versions=[row.latest_version], source_version=self.source_version)
        verified = self.verified_manifest(package_id, version)
        localized = verified.manifest.localized()
        return PackageDetails(
            package_id=row.id,
            name=verified.manifest.name,
            publisher=verified.manifest.publisher,
            version=verified.manifest.version,
            moniker=verified.manifest.moniker or row.moniker,
            versions=list(verified.versions),
            description=verified.manifest.description,
            tags=verified.manifest.tags,
            homepage=localized.get("PackageUrl") or localized.get("PublisherUrl"),
            license=localized.get("License"),
            manifest_sha256=verified.manifest_sha256,
            source_version=self.source_version,
        )

    def verified_manifest(self, package_id: str, version: str | None = None) -> VerifiedManifest:
        if self.chain is None:
            raise CatalogUnavailable("this catalog was opened without a CDN; manifests cannot be verified")
        return self.chain.manifest(package_id, version)

    def iter_installer(self, installer: Installer, *, package_id: str) -> Iterator[bytes]:
        """The installer's bytes as they arrive; InstallerHashMismatch is raised before the iterator completes
        (feed it to a commit-at-the-end upload such as StagingArea.upload_stream)."""
        if self.chain is None:
            raise CatalogUnavailable("this catalog was opened without a CDN client")
        return self.chain.client.iter_installer(
            installer.url, installer.sha256, package_id=package_id, allowed_hosts=self.installer_hosts
        )

    def download_installer(self, installer: Installer, sink: BinaryIO, *, package_id: str) -> int:
        """Stream a verified manifest's installer into `sink`; raises InstallerHashMismatch on a wrong binary
        (the caller discards what `sink` got). https only, public addresses, optional host allowlist."""
        if self.chain is None:
            raise CatalogUnavailable("this catalog was opened without a CDN client")
        return self.chain.client.download_installer(
            installer.url, installer.sha256, sink, package_id=package_id, allowed_hosts=self.installer_hosts
        )


def _shared_cache(settings: WingetSettings, trust_label: str) -> SharedSourceCache | None:
    if not settings.shared_cache:
        return None
    from greenlight.settings import SettingsError
    from greenlight.storage import StorageAccount
    from greenlight.storage.blobs import WINGET_CACHE_CONTAINER
    from greenlight.storage.errors import StorageError

    try:
        container = StorageAccount.from_env().container(WINGET_CACHE_CONTAINER)
    except (StorageError, SettingsError) as error:
        log.warning("shared WinGet cache disabled: %s", error)
        return None
    return SharedSourceCache(container, trust_label)


def open_catalog(settings: WingetSettings) -> Catalog:
    """Fetch (or reuse), verify and open the source named by `settings`."""
    client = CdnClient(allowed_hosts=settings.cdn_hosts, allow_loopback=settings.local, ca_bundle=settings.ca_bundle)
    try:
        policy = policy_for(settings.trust)
        shared = _shared_cache(settings, policy.label)
        max_age = dt.timedelta(days=settings.max_age_days) if settings.max_age_days else None
        store = SourceStore(settings.cache_dir, policy, client, settings.source_url, shared, max_age)
        source = store.open()
    except WingetError as error:
        client.close()
        raise CatalogUnavailable(
            f"The WinGet catalog is unavailable: {error.message}", package_id=error.package_id, link=error.link
        ) from error
    chain = HashChain(source, client, BlobCache(settings.cache_dir / "blobs"), allow_loopback=settings.local)
    catalog = Catalog(source, chain, settings.installer_hosts)
    catalog.store = store
    return catalog


class _CatalogHolder:
    """One catalog per process; re-checked (conditional GET) at most every `refresh_minutes`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._checked = 0.0
        self._settings: WingetSettings | None = None

    def get(self) -> Catalog:
        with self._lock:
            now = time.monotonic()
            if self._catalog is None:
                settings = WingetSettings.from_env()
                self._catalog = open_catalog(settings)
                self._settings = settings
                self._checked = now
            elif self._settings and now - self._checked > self._settings.refresh_minutes * 60:
                self._checked = now
                try:
                    self._catalog = self._refreshed(self._catalog, self._settings)
                except WingetError as error:
                    # A failed refresh keeps serving the verified catalog; tampering or rollback is logged loudly.
                    level = logging.WARNING if error.code == "unverifiable_retry_later" else logging.ERROR
                    log.log(level, "WinGet source refresh failed, keeping %s: %s", self._catalog.source_version, error)
            return self._catalog

    @staticmethod
    def _refreshed(catalog: Catalog, settings: WingetSettings) -> Catalog:
        assert catalog.chain is not None and catalog.store is not None
        store = catalog.store
        current = store.adopt_shared(catalog.source)
        source = store.refresh(current)
        store.publish(source)
        if source is catalog.source:
            return catalog
        chain = HashChain(source, catalog.chain.client, catalog.chain.cache, allow_loopback=settings.local)
        refreshed = Catalog(source, chain, settings.installer_hosts)
        refreshed.store = store
        return refreshed

    def reset(self) -> None:
        with self._lock:
            self._catalog = None


_holder = _CatalogHolder()


def get_catalog() -> Catalog:
    """The process-wide verified catalog. Raises CatalogUnavailable with a human message."""
    return _holder.get()


def reset_catalog() -> None:
    """Forget the process-wide catalog (tests; settings changed)."""
    _holder.reset()
