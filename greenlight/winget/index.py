"""`Public/index.db` of a verified source, opened read-only and loaded once into lookup/search structures.

The published V2 database has no indices (reference §1.2), so a lookup in SQL is a table scan; loading the
package table at open makes a warm lookup a hash probe and a search a few `bytes.find` scans.

Layout (sized for Microsoft's real index, ~40,000 packages): per-package fields live in parallel lists of
strings, in lower-cased-id order, and an `IndexPackage` is made only when one is asked for. Strings and
str -> int dicts are not tracked by the garbage collector, so a loaded index adds a handful of tracked objects
instead of several per package (full collections over hundreds of thousands of objects used to land inside
searches), and memory is a fraction of one object graph per package.

Search: two UTF-8 byte strings hold every package's lower-cased fields, one record per package in the same
order: `\x01id\x00name\x00moniker\x00` and `\x01\x00tag\x00command\x00…`. Each rank is a pattern
(exact name: `\x00q\x00`; id prefix: `\x01q`; …) whose matches come out in id order, the ranking's tie order,
so each rank stops after `limit` new packages: the cost follows the limit, not the number of matches.
"""

from __future__ import annotations

import array
import bisect
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from greenlight.winget.errors import HostileInput, MalformedPackage, UnsupportedIndexSchema

V2_TABLES = {"metadata", "packages", "tags2", "tags2_map", "commands2", "commands2_map"}
# winget's identifier rule: segments without whitespace or \ / : * ? " < > |, at most 128 characters.
_ID_RULE = re.compile(r'^[^\s\\/:*?"<>|\x00-\x1f]{1,128}$')


def check_package_id(package_id: str) -> str:
    """Refuse identifiers that could escape a URL path or a file name before anything is looked up."""
    if not isinstance(package_id, str) or not _ID_RULE.match(package_id) or ".." in package_id:
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


_ID_START, _FIELD_END = b"\x01", b"\x00"  # record separators in the search blobs; queries never contain them


class _Columns:
    """Per-package fields as parallel lists in lower-cased-id order (not one object per package)."""

    def __init__(self) -> None:
        self.rowids = array.array("q")
        self.ids: list[str] = []
        self.names: list[str] = []
        self.monikers: list[str | None] = []
        self.latest: list[str] = []
        self.hashes: list[bytes | None] = []
        self.tags: list[tuple[str, ...]] = []
        self.commands: list[tuple[str, ...]] = []

    def package(self, number: int) -> IndexPackage:
        digest = self.hashes[number]
        # Filled like dataclasses' own frozen __init__ does, minus its per-field object.__setattr__ calls: a
        # lookup stays at about a microsecond.
        package = object.__new__(IndexPackage)
        package.__dict__.update(
            rowid=self.rowids[number],
            id=self.ids[number],
            name=self.names[number],
            moniker=self.monikers[number],
            latest_version=self.latest[number],
            hash=digest.hex() if digest else None,
            tags=self.tags[number],
            commands=self.commands[number],
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
        self._number: dict[str, int] = {}  # exact id -> position
        self._folded: dict[str, int] = {}  # lower-cased id -> first position (case variants follow it)
        self._main = b""  # \x01id\x00name\x00moniker\x00 per package, lower-cased UTF-8
        self._extras = b""  # \x01\x00tag\x00command\x00... per package
        self._main_starts = array.array("Q")
        self._extra_starts = array.array("Q")
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

    def _mapped(self, sql: str) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for package, value in self._db.execute(sql):
            found.setdefault(package, []).append(value)
        return found

    def _load_v2(self) -> None:
        tags = self._mapped("SELECT m.package, t.tag FROM tags2_map m JOIN tags2 t ON t.rowid = m.tag")
        commands = self._mapped(
            "SELECT m.package, c.command FROM commands2_map m JOIN commands2 c ON c.rowid = m.command"
        )
        rows = self._db.execute("SELECT rowid, id, name, moniker, latest_version, hash FROM packages").fetchall()
        if not rows:
            raise MalformedPackage("index.db has no packages")
        rows.sort(key=lambda row: (row[1].lower(), row[0]))  # id order is the ranking's tie order
        columns, number, folded = self._columns, self._number, self._folded
        main: list[str] = []
        extras: list[str] = []
        for position, (rowid, package_id, name, moniker, latest, digest) in enumerate(rows):
            if package_id in number:
                raise MalformedPackage(f"index.db lists package {package_id} twice")
            number[package_id] = position
            lowered = package_id.lower()
            folded.setdefault(lowered, position)
            own_tags = tuple(sorted(tags.pop(rowid, ())))
            own_commands = tuple(sorted(commands.pop(rowid, ())))
            columns.rowids.append(rowid)
            columns.ids.append(package_id)
            columns.names.append(name)
            columns.monikers.append(moniker or None)
            columns.latest.append(latest)
            columns.hashes.append(bytes(digest) if digest else None)
            columns.tags.append(own_tags)
            columns.commands.append(own_commands)
            main.append(f"\x01{lowered}\x00{name.lower()}\x00{(moniker or '').lower()}\x00")
            extras.append("\x01\x00" + "".join(f"{value.lower()}\x00" for value in {*own_tags, *own_commands}))
        self._main, self._main_starts = _joined(main)
        self._extras, self._extra_starts = _joined(extras)

    def _require_v2(self) -> None:
        if self.major != "2":
            raise UnsupportedIndexSchema(
                f"index schema {self.schema} (source.msix, V1) verifies but cannot be used for lookups; "
                "schema 2 is required"
            )

    def __len__(self) -> int:
        if self.major == "2":
            return len(self._number)
        try:
            return int(self._db.execute("SELECT count(*) FROM ids").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0

    def get(self, package_id: str) -> IndexPackage | None:
        """Exact (case-sensitive) id match, as the verifier must use (reference §1.2)."""
        self._require_v2()
        position = self._number.get(package_id)
        return None if position is None else self._columns.package(position)

    def near_misses(self, package_id: str) -> list[str]:
        self._require_v2()
        return [
            self._columns.ids[n] for n in self._case_variants(package_id.lower()) if self._columns.ids[n] != package_id
        ]

    def _case_variants(self, lowered: str) -> Iterator[int]:
        position = self._folded.get(lowered)
        ids = self._columns.ids
        while position is not None and position < len(ids) and ids[position].lower() == lowered:
            yield position
            position += 1

    def search(self, text: str, limit: int = 20) -> list[SearchHit]:
        self._require_v2()
        query = text.strip().lower()
        query = "".join(ch for ch in query if ch >= " ")  # the separators never match
        if not query or limit <= 0:
            return []
        needle = query.encode("utf-8")
        seen: set[int] = set()
        hits: list[SearchHit] = []
        for rank, patterns in enumerate(self._rank_patterns(needle)):
            need = limit - len(hits)
            found: set[int] = set()
            for blob, starts, pattern in patterns:
                found.update(_first_new(blob, starts, pattern, seen, need))
            for position in sorted(found)[:need]:
                seen.add(position)
                hits.append(SearchHit(self._columns.package(position), rank, self._label(rank, position, query)))
            if len(hits) >= limit:
                break
        return hits

    def _rank_patterns(self, needle: bytes) -> list[list[tuple[bytes, array.array, bytes]]]:
        """Rank 0 exact id, 1 exact name/moniker/tag/command, 2 prefix, 3 substring, 4 tag/command substring."""
        main = (self._main, self._main_starts)
        extras = (self._extras, self._extra_starts)
        return [
            [(*main, _ID_START + needle + _FIELD_END)],
            [(*main, _FIELD_END + needle + _FIELD_END), (*extras, _FIELD_END + needle + _FIELD_END)],
            [(*main, _ID_START + needle), (*main, _FIELD_END + needle)],
            [(*main, needle)],
            [(*extras, needle)],
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
        found: dict[int, str] = {}
        for package, publisher in self._db.execute("SELECT package, norm_publisher FROM norm_publishers2"):
            found.setdefault(package, publisher)
        return found

    def close(self) -> None:
        self._db.close()


def _joined(records: list[str]) -> tuple[bytes, array.array]:
    """One UTF-8 blob of all records, and each record's start offset (plus the end) for bisect."""
    encoded = [record.encode("utf-8") for record in records]
    starts = array.array("Q", [0])
    total = 0
    for record in encoded:
        total += len(record)
        starts.append(total)
    return b"".join(encoded), starts


def _first_new(blob: bytes, starts: array.array, pattern: bytes, seen: set[int], need: int) -> list[int]:
    """The first `need` records (in blob order) containing `pattern` that are not in `seen`; `bytes.find` jumps
    from match to match and each match skips to the end of its record."""
    found: list[int] = []
    position = blob.find(pattern)
    while position >= 0 and len(found) < need:
        record = bisect.bisect_right(starts, position) - 1
        if record not in seen:
            found.append(record)
        position = blob.find(pattern, starts[record + 1])
    return found
