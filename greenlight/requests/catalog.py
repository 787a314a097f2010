"""The verified WinGet catalog as the application layer needs it: does this package (and version) exist?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greenlight.requests.errors import CatalogUnavailable, UnknownPackage
from greenlight.requests.ports import ResolvedPackage


class WingetPackageCatalog:
    """Resolves through `greenlight.winget.catalog` (signature, index, versionData and manifest hashes checked).

    `open_catalog` returns the process-wide catalog (default `get_catalog`); it is called per lookup so a refreshed
    source is used, and imported lazily so the app starts even while the source cannot be verified yet.
    """

    def __init__(self, open_catalog: Callable[[], Any] | None = None) -> None:
        self._open = open_catalog

    def _catalog(self) -> Any:
        from greenlight.winget.errors import WingetError

        try:
            if self._open is not None:
                return self._open()
            from greenlight.winget.catalog import get_catalog

            return get_catalog()
        except WingetError as error:
            raise CatalogUnavailable(f"the software catalog is not available right now: {error}") from error
        except Exception as error:  # a door's own catalog factory (the bot's) raises its own type, with a message
            raise CatalogUnavailable(str(error) or "the software catalog is not available right now") from error

    def resolve(self, package_id: str, version: str | None) -> ResolvedPackage:
        from greenlight.winget.errors import NotInIndex, VersionNotFound, WingetError

        catalog = self._catalog()
        try:
            details = catalog.package(package_id, version)
        except (NotInIndex, VersionNotFound):
            raise UnknownPackage(package_id, version) from None
        except WingetError as error:
            raise CatalogUnavailable(f"{package_id} cannot be verified right now: {error}") from error
        if details is None:
            raise UnknownPackage(package_id, version)
        if version is not None and details.version != version:
            raise UnknownPackage(package_id, version)
        return ResolvedPackage(details.package_id, details.version, details.name)
