"""Correlation ids: taken from `x-correlation-id` (when well-formed) or generated, echoed on every response, and
prefixed to every log line written while a request is handled (whatever handler or format the host uses)."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

CORRELATION_HEADER = "x-correlation-id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a whole-value match; anything else (too long, odd characters,
# undecodable bytes) is replaced
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("greenlight_correlation_id", default=None)
_installed = False


def current_correlation_id() -> str | None:
    return _current.get()


def correlation_id_from(header_value: str | None) -> str:
    if header_value and _VALID.fullmatch(header_value.strip()):
        return header_value.strip()
    return str(uuid.uuid4())


def bind(correlation_id: str) -> contextvars.Token:
    return _current.set(correlation_id)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def install_log_correlation() -> None:
    """Wrap the log record factory once: records made during a request carry `correlation_id`, and their message
    starts with `[correlation_id]` so it shows in every format (devhost's, the Functions worker's)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        correlation_id = _current.get()
        record.correlation_id = correlation_id or "-"
        if correlation_id and isinstance(record.msg, str):
            record.msg = f"[{correlation_id}] {record.msg}"
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
