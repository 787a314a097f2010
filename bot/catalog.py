"""What the bot needs from the WinGet catalog, as a protocol so the source can be swapped in tests and later.

The default is WINGET's process-wide verified catalog (`greenlight.winget.catalog.get_catalog()`), imported
lazily so the bot starts even when the catalog cannot be verified yet (a search then says so instead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class CatalogUnavailableError(Exception):
    """The catalog could not be opened or verified; the message is safe to show to a user."""


class CatalogSearch(Protocol):
    def search(self, text: str, limit: int = 20) -> Sequence[Any]: ...

    def package(self, package_id: str) -> Any | None: ...


def default_catalog() -> CatalogSearch:
    try:
        from greenlight.winget.catalog import get_catalog
    except ImportError as error:  # the catalog module is not part of this build
        raise CatalogUnavailableError("The software catalog is not available yet.") from error
    try:
        return get_catalog()
    except Exception as error:  # CatalogUnavailable and friends carry a human message
        raise CatalogUnavailableError(str(error) or "The software catalog is not available right now.") from error


CatalogFactory = Callable[[], CatalogSearch]
