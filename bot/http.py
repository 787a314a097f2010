"""HTTP answers of the bot endpoint: RFC 7807 problems (no stack traces, no echo of the request)."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func


def problem(status: int, title: str, detail: str) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json")


def json_response(status: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def nests_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether JSON text opens more than `limit` arrays/objects inside each other, found without parsing it (the
    parser recurses once per level and fails with RecursionError on a few KB of `[`). Brackets inside strings do
    not count; malformed text is left to the parser."""
    depth = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False
