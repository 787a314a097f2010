"""A source built and signed by the sandbox's builder, verified offline: trust, tampering, rollback, search."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

import pytest

from greenlight.winget import msix
from greenlight.winget.errors import (
    AppxDigestMismatch,
    HostileInput,
    IdentityMismatch,
    SignatureInvalid,
    SourceRollback,
    UntrustedCertificateChain,
)
from greenlight.winget.index import SourceIndex, check_package_id
from greenlight.winget.source import SourceStore, verify_and_extract
from greenlight.winget.trust import microsoft_policy
from sandbox.winget_cdn.builder import BuildOptions, build_source, rebuild_with
from sandbox.winget_cdn.msix_writer import build_msix
from sandbox.winget_cdn.signing import TestPki
from sandbox.winget_cdn.synthetic import sandbox_packages


def test_the_built_source_verifies_with_every_production_check(built, sandbox_policy) -> None:
    result = msix.verify_msix(built.msix, sandbox_policy)
    assert result.identity.family_name == "Microsoft.Winget.Source_8wekyb3d8bbwe"
    assert result.identity.version == built.version
    assert len(result.signer_chain) == 3 and len(result.timestamp_chain) == 2
    assert result.signed_at is not None


def test_the_built_source_is_untrusted_under_the_microsoft_roots(built) -> None:
    with pytest.raises(UntrustedCertificateChain, match="no trusted issuer"):
        msix.verify_msix(built.msix, microsoft_policy())


def test_a_source_signed_by_another_ca_with_the_same_names_is_untrusted(sandbox_policy, tmp_path) -> None:
    impostor = TestPki.create()  # same subject names, different keys
    options = BuildOptions(base_url="https://127.0.0.1:9/winget", signing_time=dt.datetime.now(dt.UTC))
    forged = build_source(sandbox_packages(), tmp_path, impostor, options)
    with pytest.raises(UntrustedCertificateChain):
        msix.verify_msix(forged.msix, sandbox_policy)


def test_a_changed_index_row_breaks_the_package_digest(built, sandbox_policy, tmp_path) -> None:
    path = tmp_path / "index.db"
    path.write_bytes(dict(built.payload)["Public/index.db"])
    db = sqlite3.connect(path)
    db.execute("UPDATE packages SET latest_version = '99.0' WHERE id = 'Contoso.Notes'")
    db.commit()
    db.close()
    tampered = rebuild_with(built, "Public/index.db", path.read_bytes())
    with pytest.raises(AppxDigestMismatch) as failure:
        msix.verify_msix(tampered, sandbox_policy)
    assert "AXPC" in failure.value.components


def test_a_flipped_signature_byte_is_a_signature_failure(built, sandbox_policy) -> None:
    p7x = bytearray(built.p7x)
    signature_start = p7x.find(b"\x04\x82\x01\x00") + 4  # the 256-byte RSA signature octets
    p7x[signature_start + 10] ^= 0x01
    tampered = build_msix(built.payload, lambda _blob: bytes(p7x))  # same bytes, one signature bit flipped
    with pytest.raises(SignatureInvalid, match="does not verify"):
        msix.verify_msix(tampered, sandbox_policy)


def test_a_validly_signed_package_that_is_not_the_winget_source_is_refused(pki, sandbox_policy, tmp_path) -> None:
    from sandbox.winget_cdn import builder

    original = builder.SOURCE_NAME
    builder.SOURCE_NAME = "Contoso.Fake.Source"
    try:
        options = BuildOptions(base_url="https://127.0.0.1:9/winget", signing_time=dt.datetime.now(dt.UTC))
        other = build_source(sandbox_packages(), tmp_path, pki, options)
    finally:
        builder.SOURCE_NAME = original
    with pytest.raises(IdentityMismatch, match=r"Contoso\.Fake\.Source"):
        msix.verify_msix(other.msix, sandbox_policy)


def test_the_store_refuses_a_rollback_and_keeps_the_newer_source(pki, sandbox_policy, tmp_path) -> None:
    now = dt.datetime.now(dt.UTC)
    newer = build_source(sandbox_packages(), tmp_path / "new", pki, BuildOptions("https://127.0.0.1:9/w", now))
    older = build_source(
        sandbox_packages(), tmp_path / "old", pki, BuildOptions("https://127.0.0.1:9/w", now - dt.timedelta(days=1))
    )
    store = SourceStore(tmp_path / "cache", sandbox_policy, client=None, base_url="https://127.0.0.1:9/w")  # type: ignore[arg-type]
    store.accept(newer.msix, '"etag-new"')
    with pytest.raises(SourceRollback, match=f"older than the already accepted {newer.version}"):
        store.accept(older.msix, '"etag-old"')
    assert store.state().version == newer.version
    reopened = store.open_cached()
    assert reopened is not None and reopened.version == newer.version
    assert reopened.index.get("Contoso.Notes") is not None


def test_a_source_signed_too_long_ago_is_stale(pki, sandbox_policy, tmp_path) -> None:
    from greenlight.winget.errors import SourceStale

    old = build_source(
        sandbox_packages(),
        tmp_path / "old",
        pki,
        BuildOptions("https://127.0.0.1:9/w", dt.datetime.now(dt.UTC) - dt.timedelta(days=40)),
    )
    store = SourceStore(
        tmp_path / "cache",
        sandbox_policy,
        None,
        "https://127.0.0.1:9/w",
        max_age=dt.timedelta(days=30),  # type: ignore[arg-type]
    )
    with pytest.raises(SourceStale, match="more than 30 days ago"):
        store.accept(old.msix, None)
    assert store.state() is None
    unlimited = SourceStore(tmp_path / "cache2", sandbox_policy, None, "https://127.0.0.1:9/w")  # type: ignore[arg-type]
    assert unlimited.accept(old.msix, None).version == old.version


def test_a_cached_index_changed_on_disk_is_not_reused(built, sandbox_policy, tmp_path) -> None:
    store = SourceStore(tmp_path, sandbox_policy, client=None, base_url="https://127.0.0.1:9/w")  # type: ignore[arg-type]
    store.accept(built.msix, None)
    with store.index_path.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\xff")
    assert store.open_cached() is None


def test_a_failed_verification_leaves_no_extracted_index(built, tmp_path) -> None:
    with pytest.raises(UntrustedCertificateChain):
        verify_and_extract(built.msix, microsoft_policy(), tmp_path / "index.db")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def index(built, sandbox_policy, tmp_path_factory) -> SourceIndex:
    path = tmp_path_factory.mktemp("index") / "index.db"
    verify_and_extract(built.msix, sandbox_policy, path)
    opened = SourceIndex(path)
    opened.check_integrity()
    return opened


def test_index_schema_and_exact_lookup(index) -> None:
    assert index.schema == "2.0"
    row = index.get("Contoso.Notes")
    assert row is not None and row.latest_version == "2.0.0" and len(row.hash or "") == 64
    assert index.get("contoso.notes") is None
    assert index.near_misses("contoso.notes") == ["Contoso.Notes"]


@pytest.mark.parametrize(
    ("query", "first", "rank"),
    [
        ("Contoso.Notes", "Contoso.Notes", 0),  # exact id
        ("7zip", "7zip.7zip", 1),  # exact moniker
        ("markdown", "Contoso.Notes", 1),  # tag
        ("fk", "Fabrikam.Toolkit", 1),  # moniker / command alias
        ("Notep", "Notepad++.Notepad++", 2),  # prefix
        ("studio", "Microsoft.VisualStudioCode", 3),  # substring
    ],
)
def test_search_ranks_exact_then_prefix_then_substring(index, query: str, first: str, rank: int) -> None:
    hits = index.search(query)
    assert hits[0].package.id == first and hits[0].rank == rank
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_search_limits_and_empty_queries(index) -> None:
    assert index.search("   ") == []
    assert len(index.search("o", limit=3)) == 3


@pytest.mark.parametrize("bad", ["../x", "a/b", "a\\b", "x" * 129, "", "a b", "..", "con:1", "7zip.7zip\n", "a\x85b"])
def test_identifiers_that_could_escape_a_path_are_refused(bad: str) -> None:
    with pytest.raises(HostileInput):
        check_package_id(bad)


def test_policy_label_change_forces_reverification(built, sandbox_policy, tmp_path) -> None:
    store = SourceStore(tmp_path, sandbox_policy, client=None, base_url="https://127.0.0.1:9/w")  # type: ignore[arg-type]
    store.accept(built.msix, None)
    other = SourceStore(tmp_path, dataclasses.replace(sandbox_policy, label="other"), None, "https://x")  # type: ignore[arg-type]
    assert other.open_cached() is None
