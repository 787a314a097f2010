"""winget's version comparison (AppInstallerVersions.h): dot-separated parts, each a leading integer then a
string suffix; missing parts compare as empty, so 1.0 == 1.0.0 (reference §2.2 step 7).

Numbers are compared as digit strings (length, then digits), never through int(): a version is data from a caller
or the CDN, and int() refuses strings longer than Python's integer-string limit (4300 digits)."""

from __future__ import annotations

import functools
import re

_PART = re.compile(r"([0-9]*)(.*)", re.DOTALL)
_ZERO: tuple[int, str] = (0, "")  # the number 0 as (digit count, digits)


def _number(digits: str) -> tuple[int, str]:
    """An ASCII digit string as a key that orders like its integer value: (length, digits) without leading zeros."""
    significant = digits.lstrip("0")
    return (len(significant), significant)


def _parts(version: str) -> list[tuple[tuple[int, str], str]]:
    parts = []
    for raw in version.strip().split("."):
        match = _PART.fullmatch(raw.strip())
        assert match is not None
        number, suffix = match.groups()
        parts.append((_number(number), suffix.lower()))
    while parts and parts[-1] == (_ZERO, ""):
        parts.pop()
    return parts


def compare(a: str, b: str) -> int:
    pa, pb = _parts(a), _parts(b)
    for index in range(max(len(pa), len(pb))):
        x = pa[index] if index < len(pa) else (_ZERO, "")
        y = pb[index] if index < len(pb) else (_ZERO, "")
        if x[0] != y[0]:
            return -1 if x[0] < y[0] else 1
        if x[1] != y[1]:
            # An empty suffix sorts after a non-empty one (1.0 > 1.0-beta), as in winget.
            if not x[1]:
                return 1
            if not y[1]:
                return -1
            return -1 if x[1] < y[1] else 1
    return 0


def equal(a: str, b: str) -> bool:
    return compare(a, b) == 0


sort_key = functools.cmp_to_key(compare)


def latest(versions: list[str]) -> str:
    return max(versions, key=sort_key)
