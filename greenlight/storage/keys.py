"""Table keys and entity helpers shared by the repositories."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from greenlight.storage.errors import AlreadyExists, ConcurrencyConflict, InvalidKey, NotFound, StorageError

# Table Storage forbids / \ # ? and control characters in keys, and caps them at 1 KiB.
_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # and lone surrogates: not encodable
_MAX_KEY_LENGTH = 512


def is_valid_key(value: object) -> bool:
    """What `key` accepts, as a test (a continuation token's keys come from the caller)."""
    return isinstance(value, str) and 0 < len(value) <= _MAX_KEY_LENGTH and not _FORBIDDEN.search(value)


def key(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidKey(f"{what} must be a non-empty string")
    if len(value) > _MAX_KEY_LENGTH:
        raise InvalidKey(f"{what} is longer than {_MAX_KEY_LENGTH} characters")
    if _FORBIDDEN.search(value):
        raise InvalidKey(f"{what} {value!r} contains a character Table Storage does not allow in keys (/ \\ # ?)")
    return value


def odata_quote(value: str) -> str:
    """Quote a string literal for an OData filter (the SDK's `parameters` does this too; used for composed filters)."""
    return "'" + value.replace("'", "''") + "'"


def as_utc(value: Any) -> dt.datetime:
    """Entities come back as the SDK's datetime subclass; hand out plain aware UTC datetimes."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return dt.datetime.fromtimestamp(aware.timestamp(), dt.UTC)
    if isinstance(value, str):
        return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    raise StorageError(f"expected a timestamp, got {type(value).__name__}")


def without_none(entity: dict[str, Any]) -> dict[str, Any]:
    """Table Storage has no null: an absent property is how a None is stored."""
    return {k: v for k, v in entity.items() if v is not None}


def etag_of(result: Any) -> str:
    if isinstance(result, dict) and "etag" in result:
        return str(result["etag"])
    metadata = getattr(result, "metadata", None) or {}
    etag = metadata.get("etag")
    if not etag:
        raise StorageError("storage answered without an ETag")
    return str(etag)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn azure-core errors into this layer's typed errors, naming what was being done."""
    try:
        yield
    except ResourceModifiedError as error:
        raise ConcurrencyConflict(f"{what}: the row changed since it was read") from error
    except ResourceExistsError as error:
        raise AlreadyExists(f"{what}: a row with these keys already exists") from error
    except ResourceNotFoundError as error:
        raise NotFound(f"{what}: not found") from error
    except AzureError as error:
        # The SDK's message names the operation and status; it never carries the account key.
        message = getattr(error, "message", None) or str(error)
        raise StorageError(f"{what}: {type(error).__name__}: {message.splitlines()[0] if message else ''}") from error
