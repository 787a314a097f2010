"""The rules every door (API, bot, CLI, storage) shares for identifiers and free text.

One place, so the API schema, the bot's card data and the storage keys cannot disagree about what a request id or
a package id may contain. Each rule is a whole-value check (`fullmatch`): Python's `$` also matches before a final
newline, which once let `7zip.7zip\\n` through.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 control characters and DEL; lone surrogates come from JSON escapes (\\ud800) or undecodable bytes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Text that may span lines (a justification) keeps tab and newline; everything else single-line.
_CONTROL_EXCEPT_TAB_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# winget's identifier rule: no whitespace nor \ / : * ? " < > | nor control characters, at most 128 characters,
# and no `..` (which could climb out of a URL path or a file name).
PACKAGE_ID_MAX_LENGTH = 128
_PACKAGE_ID = re.compile(r'[^\s\\/:*?"<>|\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,128}')

# Request ids are storage row keys that also travel in URLs and card data: Table Storage forbids / \ # ? and
# control characters in keys; ours are 32 hex digits (uuid4/uuid5) but older rows and tests use other spellings.
REQUEST_ID_MAX_LENGTH = 128
REQUEST_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"  # as published in OpenAPI (ECMA: $ is the end)
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN.removeprefix("^").removesuffix("$"))


def is_single_line_text(value: Any) -> bool:
    """A string without control characters (tab and newline included) or unpaired surrogates."""
    return isinstance(value, str) and not _CONTROL.search(value) and not _SURROGATE.search(value)


def is_multiline_text(value: Any) -> bool:
    """A string without control characters other than tab and newline, and without unpaired surrogates."""
    return isinstance(value, str) and not _CONTROL_EXCEPT_TAB_NEWLINE.search(value) and not _SURROGATE.search(value)


def is_valid_package_id(value: Any) -> bool:
    """winget's identifier rule (see above)."""
    return isinstance(value, str) and _PACKAGE_ID.fullmatch(value) is not None and ".." not in value


def is_valid_request_id(value: Any) -> bool:
    """A request id as the API, the bot's cards and storage accept it: 1-128 of letters, digits and . _ : -,
    starting with a letter or digit."""
    return isinstance(value, str) and _REQUEST_ID.fullmatch(value) is not None
