"""WinGet integration fixtures: the sandbox's CDN over real HTTPS, one verified catalog per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from greenlight.winget.catalog import Catalog, open_catalog, reset_catalog
from greenlight.winget.settings import SANDBOX_ROOT_NAME, WingetSettings


def sandbox_env(sandbox) -> dict[str, str]:
    """What the local stack gives the app (scripts/stack.py) plus the WinGet trust anchor."""
    return {
        "GREENLIGHT_ENV": "local",
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
    }


@pytest.fixture(scope="session")
def winget(sandbox, tmp_path_factory: pytest.TempPathFactory):
    """settings(variant, cache_dir=None) -> WingetSettings for a sandbox CDN variant."""
    env = sandbox_env(sandbox)

    def settings(variant: str = "good", cache_dir: Path | None = None) -> WingetSettings:
        base = f"{sandbox.winget_url}" + ("" if variant == "good" else f"/v/{variant}")
        cache = cache_dir or tmp_path_factory.mktemp(f"cache-{variant}")
        return WingetSettings.from_env(
            {**env, "GREENLIGHT_WINGET_SOURCE_URL": base, "GREENLIGHT_WINGET_CACHE_DIR": str(cache)}
        )

    settings.env = env  # type: ignore[attr-defined]
    return settings


@pytest.fixture(scope="session")
def good_catalog(winget) -> Catalog:
    return open_catalog(winget("good"))


@pytest.fixture
def catalog_env(winget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The process-wide get_catalog() configured like `make run` configures devhost."""
    for name, value in winget.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GREENLIGHT_WINGET_CACHE_DIR", str(tmp_path / "catalog-cache"))
    reset_catalog()
    yield
    reset_catalog()
