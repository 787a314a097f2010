"""The last verified source2.msix in blob storage (`winget-cache/`), shared by every instance of the app.

A cold instance adopts the shared copy instead of downloading from the CDN, and the shared copy's version is a
fleet-wide anti-rollback mark: once any instance accepted version V, no instance accepts an older one. The blob is
never trusted as such — an adopted copy goes through the full verification like a CDN download; a copy that fails
is logged as an error and ignored (someone with write access to storage tampered with it), and the CDN is used.
Storage being unavailable only costs the optimisation, never the catalog.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from greenlight.winget import versions
from greenlight.winget.msix import MAX_MSIX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedCopy:
    data: bytes
    version: str
    cdn_etag: str | None


class SharedSourceCache:
    def __init__(self, container: ContainerClient, trust_label: str) -> None:
        # One blob per trust configuration, so a local/test anchor can never feed a production instance.
        scope = hashlib.sha256(trust_label.encode()).hexdigest()[:16]
        self._blob = container.get_blob_client(f"{scope}/source2.msix")

    def _properties(self) -> tuple[str, str, str | None] | None:
        """(shared version, blob ETag, CDN ETag) or None when there is no shared copy."""
        try:
            properties = self._blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        metadata = properties.metadata or {}
        if "sourceversion" not in metadata or properties.size > MAX_MSIX:
            return None
        return metadata["sourceversion"], properties.etag, metadata.get("cdnetag") or None

    def version(self) -> str | None:
        try:
            found = self._properties()
        except AzureError as error:
            log.warning("shared WinGet cache unavailable: %s", error)
            return None
        return found[0] if found else None

    def newer_than(self, version: str | None) -> SharedCopy | None:
        """The shared copy if it is newer than `version` (any copy when `version` is None)."""
        try:
            found = self._properties()
            if found is None or (version is not None and versions.compare(found[0], version) <= 0):
                return None
            shared_version, etag, cdn_etag = found
            data = self._blob.download_blob(etag=etag, match_condition=MatchConditions.IfNotModified).readall()
        except (AzureError, ResourceModifiedError) as error:
            log.warning("shared WinGet cache unavailable: %s", error)
            return None
        return SharedCopy(data, shared_version, cdn_etag)

    def publish(self, data: bytes, version: str, cdn_etag: str | None) -> bool:
        """Store a just-verified source unless the shared copy is already as new; True when written."""
        metadata = {"sourceversion": version, "sha256": hashlib.sha256(data).hexdigest()}
        if cdn_etag:
            metadata["cdnetag"] = cdn_etag.replace('"', "")
        try:
            found = self._properties()
            if found is not None and versions.compare(found[0], version) >= 0:
                return False
            if found is None:
                self._blob.upload_blob(data, overwrite=False, metadata=metadata)
            else:
                # Only replace the copy we compared against: a concurrent newer publish wins.
                self._blob.upload_blob(
                    data,
                    overwrite=True,
                    metadata=metadata,
                    etag=found[1],
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            log.info("another instance published the shared WinGet source first")
            return False
        except AzureError as error:
            log.warning("could not publish the WinGet source to the shared cache: %s", error)
            return False
        return True
