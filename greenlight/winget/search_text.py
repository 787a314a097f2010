"""The catalog's search text: every package's lower-cased fields in two UTF-8 byte strings, ranked by scans.

Records are in lower-cased-id order (the ranking's tie order), one per package, in two blobs:
`main` holds `\\x00id\\x00name\\x00moniker\\x00`, `extras` holds `\\x00tag\\x00command\\x00…`. A query never contains
\\x00, so a match lies inside one field, and the bytes around it say how it matched: \\x00 before it is a prefix,
\\x00 on both sides the whole field. UTF-8 keeps substring matches on character boundaries.

Ranks (`SourceIndex.search`'s contract): 0 exact id, 1 exact name/moniker/tag/command, 2 prefix of id/name/
moniker, 3 substring of those, 4 substring of a tag/command. Most queries match a few packages: one scan of each
blob finds them all and they are ranked in Python. Queries matching many packages (a publisher, a common tag)
instead scan rank by rank with a pattern per rank, in blob order, and stop after `limit` new packages, so the
cost follows the limit, not the number of matches.
"""

from __future__ import annotations

import array
import bisect
import itertools
from collections.abc import Iterable

_SEP = 0  # the field separator's byte value
_SEP_BYTE = b"\x00"
_FEW = 256  # up to this many matches per blob are ranked one by one


def joined(records: list[str]) -> tuple[bytes, array.array]:
    """One lower-cased UTF-8 blob of all records, and each record's start offset (plus the end) for bisect."""
    text = "".join(records).lower()  # one call, not one per field
    blob = text.encode("utf-8")
    if len(blob) == len(text) == sum(map(len, records)):  # ASCII, and lower-casing kept every record's length
        lengths: Iterable[int] = map(len, records)
    else:
        lowered = [record.lower().encode("utf-8") for record in records]
        blob = b"".join(lowered)
        lengths = map(len, lowered)
    return blob, array.array("Q", itertools.accumulate(lengths, initial=0))


class SearchText:
    def __init__(self, main: list[str], extras: list[str]) -> None:
        """`main[n]` is `\\x00id\\x00name\\x00moniker\\x00` of package n (lower-cased), `extras[n]` its tags and
        commands as `\\x00value` each plus a closing `\\x00` (or "" when it has none)."""
        self.main, self.main_starts = joined(main)
        self.extras, self.extra_starts = joined(extras)

    def ranked(self, query: str, exact_ids: list[int], limit: int) -> list[tuple[int, int]]:
        """The best `limit` (rank, package number) pairs; `exact_ids` are the rank-0 packages (a dict knows them)."""
        needle = query.encode("utf-8")
        main = _matches(self.main, self.main_starts, needle)
        extras = _matches(self.extras, self.extra_starts, needle) if main is not None else None
        if main is not None and extras is not None:
            return self._rank_all(needle, exact_ids, main, extras, limit)
        return self._rank_by_rank(needle, exact_ids, limit)

    def _rank_all(
        self, needle: bytes, exact_ids: list[int], main: list[int], extras: list[int], limit: int
    ) -> list[tuple[int, int]]:
        best: dict[int, int] = dict.fromkeys(exact_ids, 0)
        end = len(needle)
        for position in main:
            record = bisect.bisect_right(self.main_starts, position) - 1
            starts_field = self.main[position - 1] == _SEP
            if not starts_field:
                rank = 3
            elif self.main[position + end] == _SEP:
                rank = 0 if position == self.main_starts[record] + 1 else 1
            else:
                rank = 2
            if rank < best.get(record, 5):
                best[record] = rank
        for position in extras:
            record = bisect.bisect_right(self.extra_starts, position) - 1
            exact = self.extras[position - 1] == _SEP and self.extras[position + end] == _SEP
            rank = 1 if exact else 4
            if rank < best.get(record, 5):
                best[record] = rank
        return sorted((rank, record) for record, rank in best.items())[:limit]

    def _rank_by_rank(self, needle: bytes, exact_ids: list[int], limit: int) -> list[tuple[int, int]]:
        exact = _SEP_BYTE + needle + _SEP_BYTE
        patterns = (
            [(self.main, self.main_starts, exact), (self.extras, self.extra_starts, exact)],
            [(self.main, self.main_starts, _SEP_BYTE + needle)],
            [(self.main, self.main_starts, needle)],
            [(self.extras, self.extra_starts, needle)],
        )
        hits = [(0, record) for record in exact_ids[:limit]]
        seen = set(exact_ids)
        for rank, streams in enumerate(patterns, start=1):
            need = limit - len(hits)
            if need <= 0:
                break
            found: set[int] = set()
            for blob, starts, pattern in streams:
                found.update(_first_new(blob, starts, pattern, seen, need))
            for record in sorted(found)[:need]:
                seen.add(record)
                hits.append((rank, record))
        return hits


def _matches(blob: bytes, starts: array.array, needle: bytes) -> list[int] | None:
    """Every match position (at most one per record is not guaranteed), or None when there are more than _FEW."""
    found: list[int] = []
    position = blob.find(needle)
    while position >= 0:
        if len(found) == _FEW:
            return None
        found.append(position)
        position = blob.find(needle, position + 1)
    return found


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
