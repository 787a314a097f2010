"""The two hot Table Storage calls of a checkpoint (insert, conditional replace) over plain aiohttp.

Every instance costs devhost one insert and one If-Match replace per episode. Through the Azure SDK each call
spends about a millisecond of CPU in its pipeline (policies, serialisation, tracing decorators) — on a small host
that CPU, not the storage round trip, bounds throughput. This client speaks the same Table REST protocol with the
same SharedKey signature the SDK's `SharedKeyCredentialPolicy` computes (x-ms-version 2019-02-02, JSON without
metadata), for an account key from a connection string only. Anything it does not cover (token credentials or
SAS, keys with characters that need URL escaping, non-string values) stays on the SDK: `DurableStore` asks
`accepts()` first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import ResourceExistsError
from yarl import URL

API_VERSION = "2019-02-02"  # the version the SDK sends
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,512}")  # keys that need no escaping in the entity's URL
_CONTENT_TYPE = "application/json"


class TableRequestFailed(Exception):
    """The storage answered with an unexpected status (the body names the error code)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


class PreconditionFailed(TableRequestFailed):
    """412: the row's ETag no longer matches (someone else replaced it)."""


class TableRestClient:
    """Insert and If-Match replace of string-valued entities in one table, signed with the account key."""

    def __init__(self, endpoint: str, table_name: str, credential: AzureNamedKeyCredential, trust_env: bool) -> None:
        self._base = endpoint.rstrip("/")
        self._path = urlsplit(self._base).path  # "/devstoreaccount1" on Azurite, "" on Azure
        self._table = table_name
        self._account = credential.named_key.name
        self._key = base64.b64decode(credential.named_key.key)
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def for_table(cls, endpoint: str, table_name: str, credential: object, trust_env: bool) -> TableRestClient | None:
        """A client when the credential is an account key; None otherwise (the SDK handles the rest)."""
        if not isinstance(credential, AzureNamedKeyCredential):
            return None
        return cls(endpoint, table_name, credential, trust_env)

    @staticmethod
    def accepts(entity: dict[str, Any]) -> bool:
        """Whether this client sends `entity` exactly as the SDK would (plain keys, string values only)."""
        return (
            _PLAIN_KEY.fullmatch(entity["PartitionKey"]) is not None
            and _PLAIN_KEY.fullmatch(entity["RowKey"]) is not None
            and all(type(value) is str for value in entity.values())
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def insert(self, entity: dict[str, Any]) -> str:
        """Insert a new row; its ETag. Raises ResourceExistsError when the row exists (like the SDK)."""
        status, etag, body = await self._send("POST", f"/{self._table}", entity, {"Prefer": "return-no-content"})
        if status == 409:
            raise ResourceExistsError(body)
        if status != 204:
            raise TableRequestFailed(status, body)
        return etag

    async def replace(self, entity: dict[str, Any], etag: str) -> str:
        """Replace the row if its ETag is still `etag`; the new ETag. Raises PreconditionFailed otherwise."""
        resource = f"/{self._table}(PartitionKey='{entity['PartitionKey']}',RowKey='{entity['RowKey']}')"
        status, new_etag, body = await self._send("PUT", resource, entity, {"If-Match": etag})
        if status == 412:
            raise PreconditionFailed(status, body)
        if status != 204:
            raise TableRequestFailed(status, body)
        return new_etag

    async def _send(
        self, method: str, resource: str, entity: dict[str, Any], extra: dict[str, str]
    ) -> tuple[int, str, str]:
        data = json.dumps(entity, separators=(",", ":")).encode()
        date = _http_date()
        path = self._path + resource
        # SharedKey for the Table service: verb, Content-MD5, Content-Type, x-ms-date, "/account" + the URL path.
        to_sign = f"{method}\n\n{_CONTENT_TYPE}\n{date}\n/{self._account}{path}"
        signature = base64.b64encode(hmac.digest(self._key, to_sign.encode(), hashlib.sha256)).decode()
        headers = {
            "x-ms-date": date,
            "x-ms-version": API_VERSION,
            "DataServiceVersion": "3.0",
            "Content-Type": _CONTENT_TYPE,
            "Accept": "application/json;odata=nometadata",
            "Authorization": f"SharedKey {self._account}:{signature}",
            **extra,
        }
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=self._trust_env)
        url = URL(self._base + resource, encoded=True)
        async with self._session.request(method, url, data=data, headers=headers) as response:
            body = "" if response.status == 204 else await response.text()
            return response.status, response.headers.get("ETag", ""), body


_date_cache: list[Any] = [-1, ""]  # [second, its RFC 1123 text]


def _http_date() -> str:
    """`x-ms-date` for now: formatted once a second, not once a request."""
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache[:] = [second, formatdate(second, usegmt=True)]
    return _date_cache[1]
