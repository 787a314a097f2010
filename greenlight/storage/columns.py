"""Long text across several string properties, and an entity's size as the Table service counts it.

Table Storage caps one string property at 64 KiB (32K UTF-16 code units), an entity at 1 MiB and 255 properties.
`split_text("Plan", text)` gives `{"Plan": part, "Plan1": part, …}`, each part at most PART_CHARS UTF-16 code units;
`joined_text(entity, "Plan")` joins them back, so a row written with one `Plan` property (before the split) reads
the same. Writers replace the whole entity (UpdateMode.REPLACE), so a shorter text leaves no stale parts behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from greenlight.storage.errors import StorageError

PART_CHARS = 30_000  # under the 32K per-property limit, with room to spare
MAX_PARTS = 10  # 300,000 code units (600 KB): the rest of a 1 MiB entity keeps room for its other properties
ENTITY_LIMIT_BYTES = 1024 * 1024


def split_text(name: str, text: str) -> dict[str, str]:
    """`text` as properties `name`, `name1`, `name2`…; StorageError if it needs more than MAX_PARTS."""
    step = PART_CHARS if text.isascii() else PART_CHARS // 2  # a character is at most two UTF-16 code units
    parts = [text[start : start + step] for start in range(0, len(text), step)] or [""]
    if len(parts) > MAX_PARTS:
        raise StorageError(f"{name} is {len(text)} characters; at most {MAX_PARTS * step} can be stored")
    return {name if index == 0 else f"{name}{index}": part for index, part in enumerate(parts)}


def joined_text(entity: Mapping[str, Any], name: str) -> str | None:
    """The text `split_text` stored under `name` (None when the property is absent)."""
    first = entity.get(name)
    if first is None:
        return None
    parts, index = [first], 1
    while (part := entity.get(f"{name}{index}")) is not None:
        parts.append(part)
        index += 1
    return "".join(parts)


def entity_bytes(entity: Mapping[str, Any]) -> int:
    """The entity's size by the Table service's formula (4 bytes + per property 8 + 2 × name length + 2 + value:
    a string 4 + 2 × UTF-16 length, a timestamp, integer or number 8, a bool 1), to compare with ENTITY_LIMIT_BYTES."""
    size = 4
    for name, value in entity.items():
        size += 8 + 2 * len(name) + 2 + _value_bytes(value)
    return size


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return 4 + len(value.encode("utf-16-le"))
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | dt.datetime):
        return 8
    if isinstance(value, bytes):
        return 4 + len(value)
    raise TypeError(f"no Table type for {type(value).__name__}")
