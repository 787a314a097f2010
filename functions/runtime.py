"""Process-wide parts of the API, built once from the settings: the token validator and the storage account.

Settings are read at import (functions/__init__.py calls `load()`), so a missing or invalid setting is logged once,
at start, as one message naming every variable; the API then answers 503 problems instead of crashing the host.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from functions.tokens import TokenValidator
from greenlight.settings import ApiSettings, SettingsError
from greenlight.storage import StorageAccount

log = logging.getLogger("greenlight.api")


@dataclass(frozen=True)
class Runtime:
    settings: ApiSettings
    validator: TokenValidator
    storage: StorageAccount


_lock = threading.Lock()
_runtime: Runtime | None = None
_error: SettingsError | None = None


def load() -> Runtime | None:
    """Build the runtime from the environment once; on invalid settings log the message and remember it."""
    global _runtime, _error
    with _lock:
        if _runtime is not None or _error is not None:
            return _runtime
        try:
            settings = ApiSettings.from_env()
            _runtime = Runtime(
                settings, TokenValidator.from_settings(settings.auth), StorageAccount.from_settings(settings.storage)
            )
        except SettingsError as error:
            _error = error
            log.error("Greenlight API settings are invalid: %s", error)
        return _runtime


def settings_error() -> SettingsError | None:
    load()
    return _error


def get() -> Runtime:
    """The runtime, or SettingsError (answered 503) when the settings are invalid."""
    runtime = load()
    if runtime is None:
        assert _error is not None
        raise _error
    return runtime


def reset(runtime: Runtime | None = None) -> None:
    """Tests only: replace (or forget) the process-wide runtime."""
    global _runtime, _error
    with _lock:
        _runtime, _error = runtime, None
