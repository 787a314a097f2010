"""Typed errors of the Intune area; every message names what was wrong, never key material."""

from __future__ import annotations


class IntuneError(Exception):
    """Base class for everything the Intune area raises on purpose."""


class ContentSourceError(IntuneError):
    """The setup folder or stream cannot be packaged (missing setup file, size changed while reading, ...)."""


class IntunewinFormatError(IntuneError):
    """A .intunewin file does not have the expected layout (entries, Detection.xml, sizes)."""


class IntegrityError(IntuneError):
    """Encrypted content failed verification; `reason` is one of the names below."""

    MAC = "mac-mismatch"
    DIGEST = "digest-mismatch"
    SIZE = "size-mismatch"
    PADDING = "bad-padding"
    HEADER = "header-mismatch"
    OUTER_CRC = "outer-zip-crc-mismatch"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MappingError(IntuneError):
    """A manifest/installer cannot be turned into a win32LobApp body (unsupported type, missing field)."""


class UploadError(IntuneError):
    """The Graph upload flow reached a terminal failure state (e.g. commitFileFailed)."""

    def __init__(self, message: str, *, state: str | None = None) -> None:
        super().__init__(message)
        self.state = state
