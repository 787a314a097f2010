"""PublishedApps table: PartitionKey = package id, RowKey = `version|arch|scope`. One row per Intune app."""

from __future__ import annotations

from typing import Any

from greenlight.models import PublishedApp
from greenlight.storage.account import PUBLISHED_APPS_TABLE, StorageAccount
from greenlight.storage.errors import NotFound
from greenlight.storage.keys import as_utc, key, translated


def row_key(version: str, architecture: str, scope: str) -> str:
    parts = (key(version, "version"), key(architecture, "architecture"), key(scope, "scope"))
    if any("|" in p for p in parts):
        raise ValueError("version, architecture and scope must not contain '|'")
    return "|".join(parts)


def from_entity(entity: Any) -> PublishedApp:
    version, architecture, scope = entity["RowKey"].split("|")
    return PublishedApp(
        package_id=entity["PartitionKey"],
        version=version,
        architecture=architecture,
        scope=scope,
        app_id=entity["AppId"],
        group_id=entity["GroupId"],
        content_digest=entity["ContentDigest"],
        published_at=as_utc(entity["PublishedAt"]),
    )


class PublishedAppRepository:
    def __init__(self, account: StorageAccount) -> None:
        self._table = account.table(PUBLISHED_APPS_TABLE)

    def record(self, app: PublishedApp) -> PublishedApp:
        """Insert-only: a package version is published once; raises AlreadyExists for a second publication."""
        entity = {
            "PartitionKey": key(app.package_id, "package id"),
            "RowKey": row_key(app.version, app.architecture, app.scope),
            "AppId": app.app_id,
            "GroupId": app.group_id,
            "ContentDigest": app.content_digest,
            "PublishedAt": app.published_at,
        }
        with translated(f"record published app {app.package_id} {app.version}"):
            self._table.create_entity(entity)
        return app

    def get(self, package_id: str, version: str, architecture: str, scope: str) -> PublishedApp | None:
        try:
            with translated(f"read published app {package_id} {version}"):
                entity = self._table.get_entity(key(package_id, "package id"), row_key(version, architecture, scope))
        except NotFound:
            return None
        return from_entity(entity)

    def list_versions(self, package_id: str) -> list[PublishedApp]:
        with translated(f"list published versions of {package_id}"):
            entities = list(
                self._table.query_entities("PartitionKey eq @pid", parameters={"pid": key(package_id, "package id")})
            )
        return [from_entity(e) for e in entities]
