"""Shared fixtures: the real local parts (Azurite, sandbox), started once per test session on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.localstack import AzuriteEndpoints, SandboxEndpoints, start_azurite, start_sandbox

# Tests run as the local environment unless a test says otherwise. Set at import, not only per test: test modules
# import `bot` at collection, and outside local (GREENLIGHT_ENV unset means azure) it refuses to load without an
# app id.
os.environ.setdefault("GREENLIGHT_ENV", "local")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteEndpoints]:
    """A real Azure Storage emulator (in memory), private to this test session."""
    logs = tmp_path_factory.mktemp("azurite-logs")
    process, endpoints = start_azurite(logs)
    yield endpoints
    process.stop()


@pytest.fixture(scope="session")
def storage_connection_string(azurite: AzuriteEndpoints) -> str:
    return azurite.connection_string


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxEndpoints]:
    """The Entra / Graph / WinGet CDN stand-ins over HTTPS, in their own process."""
    state = tmp_path_factory.mktemp("sandbox")
    process, endpoints = start_sandbox(state / "logs", state)
    yield endpoints
    process.stop()
