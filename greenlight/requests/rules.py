"""The one set of input rules for a request, whichever door it came through (Teams form or HTTP API).

Patterns are checked with `fullmatch` (a `$` would accept a trailing newline). Free text is whitespace-collapsed
and may not contain control characters or unpaired surrogates (they break JSON, cards and Table Storage).
"""

from __future__ import annotations

import re
import unicodedata

from greenlight.requests.errors import InvalidInput

JUSTIFICATION_MAX = 500
COMMENT_MAX = 300
NAME_MAX = 256
IDEMPOTENCY_KEY_MAX = 200
ARCHITECTURES = ("x64", "arm64", "x86")
DEFAULT_ARCHITECTURE = "x64"
SCOPES = ("machine", "user")
PACKAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
PACKAGE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# Visible ASCII only: what an HTTP header can carry without an encoding question (no spaces, no controls).
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_MAX}}}")


def clean_text(value: object, field: str, *, max_chars: int, required: bool = True) -> str:
    """Collapse whitespace, refuse control characters and unpaired surrogates, enforce the length."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an unpaired surrogate (not valid Unicode text)") from None
    text = " ".join(value.split())
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput(field, "contains control characters")
    if required and not text:
        raise InvalidInput(field, "is required")
    if len(text) > max_chars:
        raise InvalidInput(field, f"must be at most {max_chars} characters")
    return text


def check_package_id(value: object) -> str:
    if not isinstance(value, str) or not PACKAGE_ID.fullmatch(value):
        raise InvalidInput("package_id", "must be a WinGet package identifier such as 7zip.7zip")
    return value


def check_version(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not PACKAGE_VERSION.fullmatch(value):
        raise InvalidInput("package_version", "must be a version such as 24.09 (letters, digits, . _ + -)")
    return value


def check_architecture(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().lower() not in ARCHITECTURES:
        raise InvalidInput("architecture", f"must be one of {', '.join(ARCHITECTURES)}")
    return value.strip().lower()


def check_scope(value: object) -> str:
    if value is None:
        return "machine"
    if value not in SCOPES:
        raise InvalidInput("scope", f"must be one of {', '.join(SCOPES)}")
    return str(value)


def check_idempotency_key(value: str | None) -> str | None:
    """None stays None (no key: a random id); a key is 1-200 visible ASCII characters."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidInput(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (no spaces or controls)"
        )
    return value
