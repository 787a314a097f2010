"""greenlight.storage.columns: long text across string properties, each within Table Storage's 32K limit."""

from __future__ import annotations

import pytest

from greenlight.storage.columns import MAX_PARTS, PART_CHARS, joined_text, split_text
from greenlight.storage.errors import StorageError


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("text", ["x", "a" * PART_CHARS, "a" * (PART_CHARS + 1), "😀" * PART_CHARS, "é" * 70_001])
def test_parts_stay_within_the_limit_and_join_back(text: str) -> None:
    parts = split_text("Plan", text)
    assert list(parts) == ["Plan"] + [f"Plan{n}" for n in range(1, len(parts))]
    assert all(utf16_units(part) <= PART_CHARS for part in parts.values())
    assert joined_text(parts, "Plan") == text


def test_a_row_with_one_column_or_none_reads_as_before() -> None:
    assert joined_text({"Plan": '{"a":1}', "Progress": "{}"}, "Plan") == '{"a":1}'
    assert joined_text({"Progress": "{}"}, "Plan") is None


def test_text_beyond_the_parts_allowed_is_refused_rather_than_cut() -> None:
    split_text("Plan", "a" * PART_CHARS * MAX_PARTS)
    with pytest.raises(StorageError, match="Plan is 300001 characters"):
        split_text("Plan", "a" * (PART_CHARS * MAX_PARTS + 1))
