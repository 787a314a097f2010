"""`Public/index.db` of a verified source, opened read-only and loaded once into lookup/search structures.

The published V2 database has no indices (reference §1.2), so a lookup in SQL is a table scan; loading the
package table at open makes a warm lookup a hash probe and a search a few `bytes.find` scans.

Layout (sized for Microsoft's real index, ~40,000 packages): per-package fields live in parallel lists of
strings, in lower-cased-id order, and an `IndexPackage` is made only when one is asked for. Strings and
str -> int dicts are not tracked by the garbage collector, so a loaded index adds a handful of tracked objects
instead of several per package (full collections over hundreds of thousands of objects used to land inside
searches), and memory is a fraction of one object graph per package.

Search: the lower-cased fields are kept as two UTF-8 byte strings, ranked by `bytes.find` scans
(search_text.py).
"""

from __future__ import annotations

import array
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from greenlight.identifiers import is_valid_package_id
from greenlight.winget.errors import HostileInput, MalformedPackage, UnsupportedIndexSchema
from greenlight.winget.search_text import SearchText

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


_DIGEST = 32  # packages.hash is a SHA-256; other lengths (never seen) are kept aside
PACKAGES_SQL = "SELECT rowid, id, name, moniker, latest_version, hash FROM packages ORDER BY rowid"
TAGS_SQL = "SELECT m.package, t.tag FROM tags2_map m JOIN tags2 t ON t.rowid = m.tag"
COMMANDS_SQL = "SELECT m.package, c.command FROM commands2_map m JOIN commands2 c ON c.rowid = m.command"
PUBLISHERS_SQL = "SELECT package, norm_publisher FROM norm_publishers2"
LOAD_SQL = (PACKAGES_SQL, TAGS_SQL, COMMANDS_SQL, PUBLISHERS_SQL)  # what opening a catalog reads


def _extras_record(values: tuple[str, ...], fields: dict[str, str]) -> str:
    """`\x00tag\x00command…\x00`, lower-cased (`fields` caches each distinct value's field; a value listed twice
    only repeats a match inside the same record)."""
    return "".join([fields[value] for value in values]) + "\x00" if values else ""


def _distinct(mapped: dict[int, list[str]]) -> set[str]:
    return {value for values in mapped.values() for value in values}


class _Columns:
    """Per-package fields as parallel lists in lower-cased-id order (not one object per package)."""

    def __init__(self) -> None:
        self.rowids = array.array("q")
        self.ids: list[str] = []
        self.names: list[str] = []
        self.monikers: list[str | None] = []
        self.latest: list[str] = []
        self.digests = bytearray()  # 32 bytes per package, zeros where there is none
        self.has_digest = bytearray()  # 1 where packages.hash is set
        self.odd_digests: dict[int, bytes] = {}  # hashes that are not 32 bytes long
        self.tags: list[tuple[str, ...]] = []
        self.commands: list[tuple[str, ...]] = []

    def set_digests(self, digests: list[bytes | None]) -> None:
        blank = bytes(_DIGEST)
        self.has_digest = bytearray(1 if digest else 0 for digest in digests)
        self.odd_digests = {n: bytes(d) for n, d in enumerate(digests) if d and len(d) != _DIGEST}
        self.digests = bytearray(b"".join(d if d and len(d) == _DIGEST else blank for d in digests))

    def digest(self, number: int) -> str | None:
        if not self.has_digest[number]:
            return None
        if self.odd_digests and number in self.odd_digests:
            return self.odd_digests[number].hex()
        return self.digests[number * _DIGEST : (number + 1) * _DIGEST].hex()

    def package(self, number: int) -> IndexPackage:
        # Filled like dataclasses' own frozen __init__ does, minus its per-field object.__setattr__ calls: a
        # lookup stays at a few microseconds.
        package = object.__new__(IndexPackage)
        package.__dict__.update(
            {
                "rowid": self.rowids[number],
                "id": self.ids[number],
                "name": self.names[number],
                "moniker": self.monikers[number],
                "latest_version": self.latest[number],
                "hash": self.digest(number),
                "tags": self.tags[number],
                "commands": self.commands[number],
            }
        )
        return package


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
        self._columns = _Columns()
        self._folded: dict[str, int] = {}  # lower-cased id -> first position (its case variants follow it)
        self._text = SearchText([], [])
        if self.major == "2":
            missing = V2_TABLES - tables
            if missing:
                raise MalformedPackage(f"index.db schema 2 lacks tables {sorted(missing)}")
            self._load_v2()
            self._db.execute("PRAGMA cache_size = 64")  # the load's page cache is not needed any more

    def check_integrity(self) -> None:
        try:
            result = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise MalformedPackage(f"index.db fails its integrity check: {error}") from None
        if result != "ok":
            raise MalformedPackage(f"index.db fails its integrity check: {result}")

    def _mapped(self, sql: str) -> defaultdict[int, list[str]]:
        found: defaultdict[int, list[str]] = defaultdict(list)
        pool: dict[str, str] = {}  # one string object per distinct tag, not one per use
        for package, value in self._db.execute(sql):
            found[package].append(pool.setdefault(value, value))
        return found

    def _load_v2(self) -> None:
        tags = self._mapped(TAGS_SQL)
        commands = self._mapped(COMMANDS_SQL)
        rows = self._db.execute(PACKAGES_SQL).fetchall()
        if not rows:
            raise MalformedPackage("index.db has no packages")
        rowids, ids, names, monikers, latest, digests = zip(*rows, strict=True)
        del rows
        if len(set(ids)) != len(ids):
            twice = next(package_id for package_id, count in Counter(ids).items() if count > 1)
            raise MalformedPackage(f"index.db lists package {twice} twice")
        lowered = [package_id.lower() for package_id in ids]
        order = sorted(range(len(ids)), key=lowered.__getitem__)  # stable: rowid order among case variants
        lowered = [lowered[n] for n in order]
        columns = self._columns
        columns.rowids = array.array("q", [rowids[n] for n in order])
        columns.ids = [ids[n] for n in order]
        columns.names = [names[n] for n in order]
        columns.monikers = [monikers[n] or None for n in order]
        versions: dict[str, str] = {}
        columns.latest = [versions.setdefault(latest[n], latest[n]) for n in order]
        columns.set_digests([digests[n] for n in order])
        columns.tags = [tuple(sorted(tags.get(rowid, ()))) for rowid in columns.rowids]
        columns.commands = [tuple(sorted(commands.get(rowid, ()))) for rowid in columns.rowids]
        # Reversed, so the first position of each lower-cased id is the one kept.
        fields = {value: f"\x00{value.lower()}" for value in {*_distinct(tags), *_distinct(commands)}}
        self._folded = dict(zip(reversed(lowered), range(len(lowered) - 1, -1, -1), strict=True))
        main = [
            f"\x00{low}\x00{name}\x00{moniker or ''}\x00"  # SearchText lower-cases the whole text at once
            for low, name, moniker in zip(lowered, columns.names, columns.monikers, strict=True)
        ]
        extras = [
            _extras_record(own_tags + own_commands, fields)
            for own_tags, own_commands in zip(columns.tags, columns.commands, strict=True)
        ]
        self._text = SearchText(main, extras)

    def _require_v2(self) -> None:
        if self.major != "2":
            raise UnsupportedIndexSchema(
                f"index schema {self.schema} (source.msix, V1) verifies but cannot be used for lookups; "
                "schema 2 is required"
            )

    def __len__(self) -> int:
        if self.major == "2":
            return len(self._columns.ids)
        try:
            return int(self._db.execute("SELECT count(*) FROM ids").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0

    def get(self, package_id: str) -> IndexPackage | None:
        """Exact (case-sensitive) id match, as the verifier must use (reference §1.2)."""
        self._require_v2()
        lowered = package_id.lower()
        position = self._folded.get(lowered)
        if position is None:
            return None
        ids = self._columns.ids
        while ids[position] != package_id:  # a case variant of it comes first: the next ones share its lower case
            position += 1
            if position == len(ids) or ids[position].lower() != lowered:
                return None
        return self._columns.package(position)

    def near_misses(self, package_id: str) -> list[str]:
        self._require_v2()
        ids = self._columns.ids
        return [ids[position] for position in self._case_variants(package_id.lower()) if ids[position] != package_id]

    def _case_variants(self, lowered: str) -> list[int]:
        position = self._folded.get(lowered)
        if position is None:
            return []
        ids = self._columns.ids
        found = [position]
        while position + 1 < len(ids) and ids[position + 1].lower() == lowered:
            position += 1
            found.append(position)
        return found

    def search(self, text: str, limit: int = 20) -> list[SearchHit]:
        self._require_v2()
        query = text.strip().lower()
        query = "".join(ch for ch in query if ch >= " ")  # the search text's separators never match
        if not query or limit <= 0:
            return []
        ranked = self._text.ranked(query, self._case_variants(query), limit)
        return [
            SearchHit(self._columns.package(position), rank, self._label(rank, position, query))
            for rank, position in ranked
        ]

    def _label(self, rank: int, position: int, query: str) -> str:
        if rank == 0:
            return "id"
        if rank == 1:
            if self._columns.names[position].lower() == query:
                return "name"
            return "moniker" if (self._columns.monikers[position] or "").lower() == query else "tag/command"
        return ("prefix", "substring", "tag/command")[rank - 2]

    def publishers(self) -> dict[int, str]:
        """Normalised publisher per package rowid (the V2 index keeps no display spelling)."""
        self._require_v2()
        rows = self._db.execute(PUBLISHERS_SQL).fetchall()
        return dict(reversed(rows))  # reversed: a package's first publisher wins, as a setdefault loop would

    def close(self) -> None:
        self._db.close()
