"""What a card action's `data` may carry: the checks the handler runs before anything is looked up or stored.

Card data comes back from the client as the user (or anyone holding a valid token) chose to send it, so each value
is checked with the rule every door shares (`greenlight.identifiers`). A refusal is a `CardDataError` carrying the
(status, code, message) of the invoke response's error, the shape `ActionResult.error` takes:

    try:
        request_id = card_data.request_id(data)
    except card_data.CardDataError as refused:
        return ActionResult(error=refused.as_error())
"""

from __future__ import annotations

from typing import Any

from greenlight.identifiers import (
    PACKAGE_ID_MAX_LENGTH,
    REQUEST_ID_MAX_LENGTH,
    is_multiline_text,
    is_single_line_text,
    is_valid_package_id,
    is_valid_request_id,
)


class CardDataError(ValueError):
    """A card action whose data is missing a value or carries one no door accepts (a 4xx, never a 500)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_error(self) -> tuple[int, str, str]:
        return (self.status, self.code, self.message)


def _value(data: Any, name: str) -> Any:
    if not isinstance(data, dict):
        raise CardDataError(400, "BadRequest", "The card action carries no data.")
    if name not in data or data[name] is None or data[name] == "":
        raise CardDataError(400, "MissingValue", f"The card action has no {name}.")
    return data[name]


def request_id(data: Any) -> str:
    """The request a button is about: 1-128 of letters, digits and . _ : - (no / # NUL or other key breakers)."""
    value = _value(data, "requestId")
    if not is_valid_request_id(value):
        raise CardDataError(
            400, "InvalidRequestId", f"requestId must be 1 to {REQUEST_ID_MAX_LENGTH} letters, digits, . _ : or -."
        )
    return value


def package_id(data: Any) -> str:
    """A WinGet package identifier: no whitespace, path separators, `..` or control characters."""
    value = _value(data, "packageId")
    if not is_valid_package_id(value):
        raise CardDataError(
            400,
            "InvalidPackageId",
            f"packageId must be a WinGet identifier of at most {PACKAGE_ID_MAX_LENGTH} characters.",
        )
    return value


def text(data: Any, name: str, max_length: int, *, required: bool = False, multiline: bool = False) -> str:
    """Free text typed into a card (justification, comment), stripped; "" when absent and not required."""
    if not isinstance(data, dict):
        raise CardDataError(400, "BadRequest", "The card action carries no data.")
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise CardDataError(400, "InvalidValue", f"{name} must be text.")
    value = value.strip()
    if required and not value:
        raise CardDataError(400, "MissingValue", f"The card action has no {name}.")
    if len(value) > max_length:
        raise CardDataError(400, "InvalidValue", f"{name} is longer than {max_length} characters.")
    if not (is_multiline_text(value) if multiline else is_single_line_text(value)):
        raise CardDataError(400, "InvalidValue", f"{name} contains control characters.")
    return value
