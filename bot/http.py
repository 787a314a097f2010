"""HTTP answers of the bot endpoint: RFC 7807 problems (no stack traces, no echo of the request)."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def problem(status: int, title: str, detail: str) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json")


def json_response(status: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
