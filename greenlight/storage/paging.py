"""Pages of query results with an opaque continuation token the API can hand to its callers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from azure.data.tables import TableClient

from greenlight.storage.errors import InvalidContinuation
from greenlight.storage.keys import is_valid_key, translated

T = TypeVar("T")

MAX_PAGE_SIZE = 1000  # Table Storage returns at most 1000 entities per call


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    continuation: str | None  # pass back to get the next page; None when there is no more


def encode_continuation(token: dict[str, str] | None) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continuation(token: str | None) -> dict[str, str] | None:
    if token is None or token == "":
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidContinuation("the continuation token is not one this service issued") from None
    if not isinstance(value, dict) or not set(value) <= {"PartitionKey", "RowKey"}:
        raise InvalidContinuation("the continuation token is not one this service issued")
    if not all(isinstance(v, str) and is_valid_key(v) for v in value.values()):
        raise InvalidContinuation("the continuation token is not one this service issued")
    return value


def query_page(
    table: TableClient,
    query_filter: str,
    parameters: dict[str, Any],
    convert: Callable[[Any], T],
    page_size: int,
    continuation: str | None,
    what: str,
) -> Page[T]:
    """One page of a filtered query. A page may hold fewer than `page_size` items and still have a continuation
    (Table Storage stops at partition and time boundaries), so callers loop on `continuation`, not on length."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    token = decode_continuation(continuation)
    with translated(what):
        pager = table.query_entities(query_filter, parameters=parameters, results_per_page=page_size).by_page(
            continuation_token=token
        )
        entities = list(next(pager, []))
        next_token = pager.continuation_token
    return Page([convert(e) for e in entities], encode_continuation(next_token))
