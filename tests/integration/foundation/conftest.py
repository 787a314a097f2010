"""Foundation integration fixtures: a StorageAccount on the session's Azurite."""

from __future__ import annotations

import uuid

import pytest

from greenlight.storage import StorageAccount


@pytest.fixture(scope="session")
def account(azurite) -> StorageAccount:
    return StorageAccount.from_connection_string(azurite.connection_string)


@pytest.fixture
def tenant() -> str:
    """A tenant id of its own per test, so tests sharing Azurite never see each other's rows."""
    return str(uuid.uuid4())
