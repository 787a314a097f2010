"""The search text's two strategies (rank every match / scan rank by rank up to the limit) agree, and an index
hands out complete packages without keeping one object per package."""

from __future__ import annotations

import dataclasses
import gc
import random

import pytest

from greenlight.winget import search_text
from greenlight.winget.index import IndexPackage, SourceIndex
from greenlight.winget.search_text import SearchText

_WORDS = ["note", "notes", "sync", "photo", "zip", "notepad", "code", "Ünïcode", "日本語", "x"]


def _records(count: int) -> tuple[list[str], list[str]]:
    """Packages in lower-cased id order, with names, monikers, tags and commands that overlap a lot."""
    rng = random.Random(7)
    ids = sorted({f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}{n}".lower() for n in range(count)})
    main, extras = [], []
    for package_id in ids:
        name = rng.choice(_WORDS) + rng.choice(["", " " + rng.choice(_WORDS)])
        moniker = rng.choice(["", rng.choice(_WORDS)])
        main.append(f"\x00{package_id}\x00{name.lower()}\x00{moniker.lower()}\x00")
        values = {rng.choice(_WORDS).lower() for _ in range(rng.randrange(4))}
        extras.append("".join(f"\x00{v}" for v in values) + "\x00" if values else "")
    return main, extras


@pytest.mark.parametrize("query", ["note", "notes", "no", "x", "zip", "code", "ünï", "日本", "pad", "nothing", ".z"])
@pytest.mark.parametrize("limit", [1, 7, 20, 100])
def test_ranking_every_match_and_ranking_rank_by_rank_agree(query: str, limit: int) -> None:
    text = SearchText(*_records(900))
    needle = query.encode()
    main = search_text._matches(text.main, text.main_starts, needle)
    extras = search_text._matches(text.extras, text.extra_starts, needle)
    if main is None or extras is None:  # too many for one pass: compare on an unbounded pass
        main, extras = _all(text.main, needle), _all(text.extras, needle)
    exact_ids: list[int] = []  # rank 0 comes from the index's dict; none of these queries is a whole id
    every = text._rank_all(needle, exact_ids, main, extras, limit)
    by_rank = text._rank_by_rank(needle, exact_ids, limit)
    assert every == by_rank
    assert [rank for rank, _ in every] == sorted(rank for rank, _ in every)


def _all(blob: bytes, needle: bytes) -> list[int]:
    found, position = [], blob.find(needle)
    while position >= 0:
        found.append(position)
        position = blob.find(needle, position + 1)
    return found


def test_a_query_with_many_matches_takes_the_rank_by_rank_path() -> None:
    text = SearchText(*_records(900))
    assert search_text._matches(text.main, text.main_starts, b"o") is None
    assert len(text.ranked("o", [], 20)) == 20


def test_lookups_give_complete_packages_and_the_load_tracks_few_objects(built, sandbox_policy, tmp_path) -> None:
    from greenlight.winget.source import verify_and_extract

    verify_and_extract(built.msix, sandbox_policy, tmp_path / "index.db")
    gc.collect()
    before = len(gc.get_objects())
    index = SourceIndex(tmp_path / "index.db")
    gc.collect()
    assert len(gc.get_objects()) - before < 100  # not one (or several) per package
    package = index.get("Contoso.Notes")
    assert package is not None
    assert set(vars(package)) == {field.name for field in dataclasses.fields(IndexPackage)}
    assert package == IndexPackage(**vars(package)) and hash(package) == hash(IndexPackage(**vars(package)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        package.name = "changed"  # type: ignore[misc]


def test_records_whose_lower_case_is_longer_keep_their_offsets() -> None:
    main = ["\x00a.one\x00İSTANBUL\x00\x00", "\x00b.two\x00Two\x00two\x00", "\x00c.three\x00K\u212aL\x00\x00"]
    text = SearchText(main, ["", "\x00x\x00", ""])
    assert text.ranked("two", [], 5) == [(1, 1)]  # exact name, in the record after the longer one
    assert text.ranked("stanbul", [], 5) == [(3, 0)]
    assert text.ranked("kk", [], 5) == [(2, 2)]  # a prefix: the Kelvin sign lower-cases to an ASCII k
