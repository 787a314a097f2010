"""One storage account: table clients (each table created once per process) and blob containers.

Built from a connection string (Azurite locally, or a key-based account) or, in Azure, from the table and blob
service URLs plus a token credential (the app's managed identity through DefaultAzureCredential).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient

from greenlight.endpoints import is_secure_endpoint
from greenlight.settings import EnvReader, SettingsError
from greenlight.storage.keys import translated

# The tables of ARCHITECTURE §5.
REQUESTS_TABLE = "Requests"
DECISIONS_TABLE = "Decisions"
APPROVAL_CARDS_TABLE = "ApprovalCards"
CONVERSATION_REFERENCES_TABLE = "ConversationReferences"
PUBLISHED_APPS_TABLE = "PublishedApps"
POLICIES_TABLE = "Policies"
AUDIT_TABLE = "Audit"
PUBLICATIONS_TABLE = "Publications"
ALL_TABLES = (
    REQUESTS_TABLE,
    DECISIONS_TABLE,
    APPROVAL_CARDS_TABLE,
    CONVERSATION_REFERENCES_TABLE,
    PUBLISHED_APPS_TABLE,
    POLICIES_TABLE,
    AUDIT_TABLE,
    PUBLICATIONS_TABLE,
)

# Process-wide: (account url, table) pairs already created, so only the first use pays the round trip.
_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


@dataclass(frozen=True)
class StorageSettings:
    connection_string: str | None = field(repr=False)  # holds the account key: never printed
    table_url: str | None
    blob_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageSettings:
        """GREENLIGHT_STORAGE_CONNECTION (else AzureWebJobsStorage), or GREENLIGHT_STORAGE_TABLE_URL together with
        GREENLIGHT_STORAGE_BLOB_URL for identity-based access."""
        reader = EnvReader(env)
        local = reader.environment() == "local"
        connection = reader.optional("GREENLIGHT_STORAGE_CONNECTION")
        name = "GREENLIGHT_STORAGE_CONNECTION"
        if connection is None and reader.optional("GREENLIGHT_STORAGE_TABLE_URL") is None:
            connection, name = reader.optional("AzureWebJobsStorage"), "AzureWebJobsStorage"
        if connection is not None:
            check_connection_string(connection, name, allow_http_loopback=local)
            return cls(connection, None, None)
        if reader.optional("GREENLIGHT_STORAGE_TABLE_URL") is None:
            raise SettingsError(
                "GREENLIGHT_STORAGE_CONNECTION is required (or AzureWebJobsStorage, or GREENLIGHT_STORAGE_TABLE_URL "
                "with GREENLIGHT_STORAGE_BLOB_URL for managed-identity access)"
            )
        table_url = reader.url("GREENLIGHT_STORAGE_TABLE_URL", allow_http_loopback=local)
        blob_url = reader.url("GREENLIGHT_STORAGE_BLOB_URL", allow_http_loopback=local)
        return cls(None, table_url, blob_url)


def check_connection_string(value: str, name: str, *, allow_http_loopback: bool) -> None:
    """Reject what the SDK would accept but we must not: plain http to a remote host, or an unparsable value."""
    parts: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        if "=" not in item:
            raise SettingsError(f"{name} is not a storage connection string (expected key=value pairs)")
        k, _, v = item.partition("=")
        parts[k.strip().lower()] = v.strip()
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        if not allow_http_loopback:
            raise SettingsError(f"{name} uses development storage, which is allowed only when GREENLIGHT_ENV=local")
        return
    if "accountname" not in parts and not any(k.endswith("endpoint") for k in parts):
        raise SettingsError(f"{name} is not a storage connection string (no AccountName or endpoints)")
    for k, v in parts.items():
        if not k.endswith("endpoint"):
            continue
        if is_secure_endpoint(v, allow_http_loopback=allow_http_loopback):
            continue
        raise SettingsError(f"{name}: {k} must be https (http only to loopback when GREENLIGHT_ENV=local)")
    if parts.get("defaultendpointsprotocol", "https") != "https" and not any(k.endswith("endpoint") for k in parts):
        raise SettingsError(f"{name}: DefaultEndpointsProtocol must be https")


class StorageAccount:
    def __init__(self, tables: TableServiceClient, blobs: BlobServiceClient) -> None:
        self._tables = tables
        self._blobs = blobs
        self._table_clients: dict[str, TableClient] = {}
        self._containers: dict[str, ContainerClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str, **client_options: Any) -> StorageAccount:
        """`client_options` go to both SDK clients (e.g. retry_total, connection_timeout, read_timeout)."""
        return cls(
            TableServiceClient.from_connection_string(connection_string, **client_options),
            BlobServiceClient.from_connection_string(connection_string, **client_options),
        )

    @classmethod
    def from_service_urls(
        cls, table_url: str, blob_url: str, credential: TokenCredential, **client_options: Any
    ) -> StorageAccount:
        return cls(
            TableServiceClient(table_url, credential=credential, **client_options),
            BlobServiceClient(blob_url, credential, **client_options),
        )

    @classmethod
    def from_settings(cls, settings: StorageSettings, **client_options: Any) -> StorageAccount:
        if settings.connection_string:
            return cls.from_connection_string(settings.connection_string, **client_options)
        from azure.identity import DefaultAzureCredential  # only identity-based deployments need it

        assert settings.table_url and settings.blob_url
        return cls.from_service_urls(settings.table_url, settings.blob_url, DefaultAzureCredential(), **client_options)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageAccount:
        return cls.from_settings(StorageSettings.from_env(env))

    @property
    def table_endpoint(self) -> str:
        return self._tables.url

    def table(self, name: str) -> TableClient:
        """The client for `name`, creating the table the first time this process asks for it."""
        with self._lock:
            client = self._table_clients.get(name)
            if client is not None:
                return client
            marker = (self._tables.url, name)
            with _created_lock:
                if marker not in _created:
                    with translated(f"create table {name}"):
                        self._tables.create_table_if_not_exists(name)
                    _created.add(marker)
            client = self._tables.get_table_client(name)
            self._table_clients[name] = client
            return client

    def container(self, name: str) -> ContainerClient:
        """The blob container `name`, created the first time this process asks for it."""
        with self._lock:
            client = self._containers.get(name)
            if client is not None:
                return client
            client = self._blobs.get_container_client(name)
            marker = (self._blobs.url, f"container:{name}")
            with _created_lock:
                if marker not in _created:
                    with translated(f"create container {name}"):
                        try:
                            client.create_container()
                        except ResourceExistsError:
                            pass  # created earlier or by a concurrent process: what we wanted
                    _created.add(marker)
            self._containers[name] = client
            return client

    def ping(self) -> dict[str, Any]:
        """One cheap round trip to the table service (for health checks); raises StorageError when unreachable."""
        with translated("reach table storage"):
            next(iter(self._tables.list_tables(results_per_page=1).by_page()), None)
        return {"endpoint": self._tables.url}


@lru_cache(maxsize=1)
def default_account() -> StorageAccount:
    """The process-wide account from the environment (clients are thread-safe and keep their connections)."""
    return StorageAccount.from_env()
