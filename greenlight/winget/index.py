"""`Public/index.db` of a verified source, opened read-only and loaded once into lookup/search structures.

The published V2 database has no indices (reference §1.2), so a lookup in SQL is a table scan; loading the
package table into dicts at open makes a warm lookup a hash probe and a search a scan over precomputed,
lower-cased haystacks.
"""

from __future__ import annotations

import array
import heapq
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from greenlight.identifiers import is_valid_package_id
from greenlight.winget.errors import HostileInput, MalformedPackage, UnsupportedIndexSchema

V2_TABLES = {"metadata", "packages", "tags2", "tags2_map", "commands2", "commands2_map"}


def check_package_id(package_id: str) -> str:
    """Refuse identifiers that could escape a URL path or a file name before anything is looked up."""
    if not is_valid_package_id(package_id):
        raise HostileInput(f"{package_id!r} is not a valid WinGet package identifier", package_id=str(package_id)[:130])
    return package_id


@dataclass(frozen=True)
class IndexPackage:
    rowid: int
    id: str
    name: str
    moniker: str | None
    latest_version: str
    hash: str | None  # lowercase hex of packages.hash, None when NULL/empty
    tags: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    package: IndexPackage
    rank: int  # 0 exact id, 1 exact name/moniker/tag/command, 2 prefix, 3 substring, 4 tag/command substring
    matched: str  # which field matched


class SourceIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._db.execute("PRAGMA query_only = ON")
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "metadata" not in tables:
                raise MalformedPackage("index.db has no metadata table")
            self.metadata = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
        except sqlite3.DatabaseError as error:
            raise MalformedPackage(f"Public/index.db is not a readable SQLite database: {error}") from None
        self.major = str(self.metadata.get("majorVersion", ""))
        self.minor = str(self.metadata.get("minorVersion", ""))
        self.schema = f"{self.major}.{self.minor}"
        self._packages: dict[str, IndexPackage] = {}
        self._folded: dict[str, list[IndexPackage]] = {}
        # Per package: one lower-cased haystack for the substring pre-filter, and the lower-cased fields the
        # ranking needs, computed once at open so a search costs one `in` per package plus work per match.
        self._haystacks: list[tuple[str, str, str, str, frozenset[str], IndexPackage]] = []
        self._blob: str | None = None
        self._starts: list[int] = []
        self._owner = array.array("I")
        if self.major == "2":
            missing = V2_TABLES - tables
            if missing:
                raise MalformedPackage(f"index.db schema 2 lacks tables {sorted(missing)}")
            self._load_v2()

    def check_integrity(self) -> None:
        try:
            result = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise MalformedPackage(f"index.db fails its integrity check: {error}") from None
        if result != "ok":
            raise MalformedPackage(f"index.db fails its integrity check: {result}")

    def _load_v2(self) -> None:
        tags: dict[int, list[str]] = {}
        for package, tag in self._db.execute(
            "SELECT m.package, t.tag FROM tags2_map m JOIN tags2 t ON t.rowid = m.tag"
        ):
            tags.setdefault(package, []).append(tag)
        commands: dict[int, list[str]] = {}
        for package, command in self._db.execute(
            "SELECT m.package, c.command FROM commands2_map m JOIN commands2 c ON c.rowid = m.command"
        ):
            commands.setdefault(package, []).append(command)
        rows = self._db.execute("SELECT rowid, id, name, moniker, latest_version, hash FROM packages").fetchall()
        if not rows:
            raise MalformedPackage("index.db has no packages")
        for rowid, package_id, name, moniker, latest, digest in rows:
            package = IndexPackage(
                rowid=rowid,
                id=package_id,
                name=name,
                moniker=moniker or None,
                latest_version=latest,
                hash=bytes(digest).hex() if digest else None,
                tags=tuple(sorted(tags.get(rowid, ()))),
                commands=tuple(sorted(commands.get(rowid, ()))),
            )
            if package_id in self._packages:
                raise MalformedPackage(f"index.db lists package {package_id} twice")
            self._packages[package_id] = package
            self._folded.setdefault(package_id.lower(), []).append(package)
            extras = frozenset(t.lower() for t in (*package.tags, *package.commands))
            haystack = "\x00".join([package_id, name, moniker or "", *extras]).lower()
            self._haystacks.append(
                (haystack, package_id.lower(), name.lower(), (moniker or "").lower(), extras, package)
            )

    def _require_v2(self) -> None:
        if self.major != "2":
            raise UnsupportedIndexSchema(
                f"index schema {self.schema} (source.msix, V1) verifies but cannot be used for lookups; "
                "schema 2 is required"
            )

    def __len__(self) -> int:
        if self.major == "2":
            return len(self._packages)
        try:
            return int(self._db.execute("SELECT count(*) FROM ids").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0

    def get(self, package_id: str) -> IndexPackage | None:
        """Exact (case-sensitive) id match, as the verifier must use (reference §1.2)."""
        self._require_v2()
        return self._packages.get(package_id)

    def near_misses(self, package_id: str) -> list[str]:
        self._require_v2()
        return [p.id for p in self._folded.get(package_id.lower(), []) if p.id != package_id]

    def search(self, text: str, limit: int = 20) -> list[SearchHit]:
        self._require_v2()
        query = text.strip().lower()
        if not query:
            return []
        query = "".join(ch for ch in query if ch >= " ")  # the separators below never match
        if not query:
            return []
        ranked: list[tuple[int, str, str, IndexPackage]] = []
        for number in self._candidates(query):
            _, package_id, name, moniker, extras, package = self._haystacks[number]
            if package_id == query:
                rank, matched = 0, "id"
            elif query == name or query == moniker or query in extras:
                rank, matched = 1, "name" if query == name else "moniker" if query == moniker else "tag/command"
            elif package_id.startswith(query) or name.startswith(query) or moniker.startswith(query):
                rank, matched = 2, "prefix"
            elif query in package_id or query in name or query in moniker:
                rank, matched = 3, "substring"
            else:
                rank, matched = 4, "tag/command"
            ranked.append((rank, package_id, matched, package))
        best = heapq.nsmallest(limit, ranked, key=lambda item: (item[0], item[1]))
        return [SearchHit(package, rank, matched) for rank, _, matched, package in best]

    def _candidates(self, query: str) -> list[int]:
        """Packages whose haystack contains `query`: str.find over one joined string jumps from match to match
        (and an offset -> package table names the package), so a search costs time per match, not per package."""
        if self._blob is None:
            self._blob = "\x01".join(entry[0] for entry in self._haystacks)
            owner = array.array("I")
            for number, entry in enumerate(self._haystacks):
                owner.extend([number] * (len(entry[0]) + 1))
            self._owner = owner
            self._starts = [0]
            for entry in self._haystacks:
                self._starts.append(self._starts[-1] + len(entry[0]) + 1)
        found: list[int] = []
        blob, owner, starts = self._blob, self._owner, self._starts
        position = blob.find(query)
        while position >= 0:
            number = owner[position]
            found.append(number)
            position = blob.find(query, starts[number + 1])
        return found

    def publishers(self) -> dict[int, str]:
        """Normalised publisher per package rowid (the V2 index keeps no display spelling)."""
        self._require_v2()
        found: dict[int, str] = {}
        for package, publisher in self._db.execute("SELECT package, norm_publisher FROM norm_publishers2"):
            found.setdefault(package, publisher)
        return found

    def close(self) -> None:
        self._db.close()
