"""The one place Graph URLs are built, and the one place the API version is chosen (see package docstring)."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import quote, urlsplit

from greenlight.endpoints import is_secure_endpoint
from greenlight.graph.errors import GraphConfigurationError


class ApiVersion(StrEnum):
    V1 = "v1.0"
    BETA = "beta"


# Intune app management needs beta-only win32LobApp properties; directory objects are stable on v1.0.
INTUNE_API = ApiVersion.BETA
DIRECTORY_API = ApiVersion.V1


class GraphUrls:
    """Builds `{base}/{version}/{path}`; the base is https (http only to loopback when allowed for local runs)."""

    def __init__(self, base_url: str, *, allow_http_loopback: bool = False) -> None:
        parts = urlsplit(base_url)
        if not is_secure_endpoint(base_url, allow_http_loopback=allow_http_loopback):
            raise GraphConfigurationError(f"Graph base URL must be https: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.netloc

    def url(self, path: str, version: ApiVersion = INTUNE_API) -> str:
        return f"{self.base_url}/{version.value}/{path.lstrip('/')}"

    def is_own(self, url: str) -> bool:
        """True for URLs on the Graph host (nextLinks are followed only there, with the token)."""
        return url.startswith(self.base_url + "/")

    def directory_object(self, object_id: str) -> str:
        """The @odata.id Graph expects in members/$ref bodies (always the public Graph host, as Graph documents)."""
        return f"https://graph.microsoft.com/{DIRECTORY_API.value}/directoryObjects/{quote(object_id)}"


def odata_quote(value: str) -> str:
    """A string literal inside $filter: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
