"""Whole numbers written by someone else (a header, a manifest, a query string): ASCII digits only, bounded.

`str.isdigit()` also accepts `²` and `١`, which int() refuses or reads differently, and int() refuses strings longer
than Python's integer-string limit (4300 digits): a check with isdigit() followed by int() is a crash waiting for
hostile input. Use these instead.
"""

from __future__ import annotations

MAX_DIGITS = 18  # fits in a signed 64-bit integer; nothing we read is larger


def is_ascii_number(text: str, max_digits: int = MAX_DIGITS) -> bool:
    """Whether `text` is 1 to `max_digits` ASCII digits (no sign, no spaces)."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def ascii_int(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of `text` when it is 1 to `max_digits` ASCII digits, else None."""
    return int(text) if text is not None and is_ascii_number(text, max_digits) else None


def declares_more_than(text: str | None, limit: int) -> bool:
    """Whether `text` (a Content-Length, say) is a whole number above `limit`, however many digits it has."""
    if text is None or not text.isascii() or not text.isdigit():
        return False
    return len(text.lstrip("0")) > MAX_DIGITS or int(text) > limit
