"""The index keeps packages in lower-cased-id order, case variants in rowid order, for ASCII and non-ASCII ids alike
(Python's lower() folds both; SQLite's folds ASCII only, so the order cannot simply be left to SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from greenlight.winget.index import SourceIndex


def _index(path: Path, ids: list[str]) -> SourceIndex:
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE metadata (name TEXT, value TEXT);
        INSERT INTO metadata VALUES ('majorVersion', '2'), ('minorVersion', '0');
        CREATE TABLE packages (rowid INTEGER PRIMARY KEY, id TEXT, name TEXT, moniker TEXT, latest_version TEXT,
                               hash BLOB);
        CREATE TABLE tags2 (rowid INTEGER PRIMARY KEY, tag TEXT);
        CREATE TABLE tags2_map (package INTEGER, tag INTEGER);
        CREATE TABLE commands2 (rowid INTEGER PRIMARY KEY, command TEXT);
        CREATE TABLE commands2_map (package INTEGER, command INTEGER);
        CREATE TABLE norm_publishers2 (package INTEGER, norm_publisher TEXT);
        """
    )
    db.executemany(
        "INSERT INTO packages VALUES (?, ?, ?, NULL, '1.0', NULL)",
        [(rowid, package_id, package_id) for rowid, package_id in enumerate(ids, start=1)],
    )
    db.commit()
    db.close()
    return SourceIndex(path)


@pytest.mark.parametrize(
    "ids",
    [
        ["Zeta.App", "alpha.App", "Beta.Tool", "ALPHA.app", "beta.tool"],
        ["Zeta.App", "Élan.App", "éclair.Tool", "alpha.App", "ÉCLAIR.tool", "ALPHA.app"],  # SQLite's lower() differs
    ],
)
def test_packages_are_in_lower_cased_id_order_with_case_variants_in_rowid_order(tmp_path: Path, ids: list[str]):
    index = _index(tmp_path / "index.db", ids)
    expected = sorted(ids, key=lambda package_id: (package_id.lower(), ids.index(package_id)))

    hits = index.search(".", limit=len(ids))  # every id and name contains ".": one rank, ties in index order

    assert [hit.package.id for hit in hits] == expected
    assert all(index.get(package_id).id == package_id for package_id in ids)
    variants = [package_id for package_id in expected if package_id.lower() == ids[-1].lower()]
    assert index.near_misses(ids[-1].lower()) == [v for v in variants if v != ids[-1].lower()]
    index.close()
