"""The blob-shared source cache on Azurite: adoption by a cold instance, fleet-wide anti-rollback, and a tampered
shared copy being ignored. Sources are built and signed in process by the sandbox's builder (no CDN needed: the
store's CDN client is never called in these tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from greenlight.storage import StorageAccount
from greenlight.winget.errors import SourceRollback
from greenlight.winget.shared_cache import SharedSourceCache
from greenlight.winget.source import SourceStore
from greenlight.winget.trust import TrustPolicy, file_policy
from sandbox.winget_cdn.builder import BuildOptions, BuiltSource, build_source
from sandbox.winget_cdn.signing import TestPki
from sandbox.winget_cdn.synthetic import sandbox_packages


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrustPolicy, BuiltSource, BuiltSource]:
    """(policy, newer source, older source) signed by one test PKI."""
    pki = TestPki.create()
    root = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_bytes(pki.root_pem())
    now = dt.datetime.now(dt.UTC)
    out = tmp_path_factory.mktemp("builds")
    newer = build_source(sandbox_packages(), out / "new", pki, BuildOptions("https://127.0.0.1:9/w", now))
    older = build_source(
        sandbox_packages(), out / "old", pki, BuildOptions("https://127.0.0.1:9/w", now - dt.timedelta(days=2))
    )
    return file_policy(root), newer, older


@pytest.fixture
def shared(azurite, signed) -> SharedSourceCache:
    container = StorageAccount.from_connection_string(azurite.connection_string).container("winget-cache")
    return SharedSourceCache(container, f"{signed[0].label}-{uuid.uuid4()}")  # a scope of its own per test


def store(directory: Path, policy: TrustPolicy, shared: SharedSourceCache) -> SourceStore:
    return SourceStore(directory, policy, client=None, base_url="https://127.0.0.1:9/w", shared=shared)  # type: ignore[arg-type]


def test_a_cold_instance_adopts_the_shared_copy(signed, shared, tmp_path) -> None:
    policy, newer, _ = signed
    first = store(tmp_path / "a", policy, shared)
    first.publish(first.accept(newer.msix, '"cdn-etag"'))
    assert shared.version() == newer.version
    adopted = store(tmp_path / "b", policy, shared).adopt_shared(None)
    assert adopted is not None and adopted.version == newer.version
    assert adopted.etag == '"cdn-etag"' and adopted.index.get("Contoso.Notes") is not None


def test_the_shared_version_is_a_fleet_wide_rollback_mark(signed, shared, tmp_path) -> None:
    policy, newer, older = signed
    first = store(tmp_path / "a", policy, shared)
    first.publish(first.accept(newer.msix, None))
    second = store(tmp_path / "b", policy, shared)
    second.adopt_shared(None)
    with pytest.raises(SourceRollback):
        second.accept(older.msix, None)


def test_an_older_source_never_replaces_a_newer_shared_copy(signed, shared, tmp_path) -> None:
    _, newer, older = signed
    assert shared.publish(newer.msix, newer.version, None)
    assert not shared.publish(older.msix, older.version, None)
    assert shared.version() == newer.version


def test_a_tampered_shared_copy_is_ignored(signed, shared, tmp_path, caplog) -> None:
    policy, newer, _ = signed
    forged = bytearray(newer.msix)
    forged[len(forged) // 3] ^= 0xFF
    shared.publish(bytes(forged), "9999.1.1.1", None)
    local = store(tmp_path / "a", policy, shared)
    assert local.adopt_shared(None) is None
    assert "failed verification" in caplog.text
    assert local.state() is None  # nothing half-written
