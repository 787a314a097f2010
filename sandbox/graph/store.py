"""In-memory state of the Graph/Intune stand-in, one `Tenant` per token `tid` (tests use their own tenant id,
so fault switches and counts never leak between tests sharing the session sandbox). Uploaded blocks live on disk."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Faults:
    """Switches a test turns on through POST /graph/_sandbox/faults. Counters make them deterministic."""

    throttle_every: int = 0  # every Nth Graph call answers 429 with Retry-After
    retry_after_seconds: int = 1
    unavailable_every: int = 0  # every Nth Graph call answers 503 (no Retry-After)
    drop_block_every: int = 0  # every Nth Put Block reads part of the body, then drops the connection
    sas_lifetime_seconds: int = 900  # a short lifetime makes SAS URLs expire during an upload
    commit_fail_once: bool = False  # the first commit of each file ends in commitFileFailed
    calls: int = 0
    blocks: int = 0

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in {"calls", "blocks"} or not hasattr(self, key):
                raise ValueError(f"unknown fault switch {key!r}")
            setattr(self, key, type(getattr(self, key))(value))


@dataclass
class ContentFile:
    id: str
    name: str
    size: int
    size_encrypted: int
    blob_key: str
    upload_state: str = "azureStorageUriRequestPending"
    sas_url: str | None = None
    sas_expires: dt.datetime | None = None
    created: str = field(default_factory=now_iso)
    committed: bool = False
    commits: int = 0
    pending_until: float = 0.0  # loop time at which a pending state resolves
    failure: str | None = None  # why the last commit failed (sandbox-only diagnostics)

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.mobileAppContentFile",
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "sizeEncrypted": self.size_encrypted,
            "sizeInBytes": self.size,
            "sizeEncryptedInBytes": self.size_encrypted,
            "azureStorageUri": self.sas_url,
            "azureStorageUriExpirationDateTime": (
                self.sas_expires.strftime("%Y-%m-%dT%H:%M:%SZ") if self.sas_expires else None
            ),
            "manifest": None,
            "uploadState": self.upload_state,
            "isCommitted": self.committed,
            "createdDateTime": self.created,
            "isDependency": False,
        }


@dataclass
class ContentVersion:
    id: str
    files: dict[str, ContentFile] = field(default_factory=dict)


@dataclass
class App:
    id: str
    body: dict[str, Any]
    content_versions: dict[str, ContentVersion] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    publishing_state: str = "notPublished"
    publish_at: float = 0.0
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)

    def to_graph(self) -> dict[str, Any]:
        return {
            **self.body,
            "@odata.type": "#microsoft.graph.win32LobApp",
            "id": self.id,
            "createdDateTime": self.created,
            "lastModifiedDateTime": self.modified,
            "publishingState": self.publishing_state,
            "isAssigned": bool(self.assignments),
            "committedContentVersion": self.body.get("committedContentVersion"),
        }


@dataclass
class Group:
    id: str
    body: dict[str, Any]
    members: list[str] = field(default_factory=list)
    created: str = field(default_factory=now_iso)

    def to_graph(self) -> dict[str, Any]:
        return {"id": self.id, "createdDateTime": self.created, **self.body}


@dataclass
class Tenant:
    id: str
    apps: dict[str, App] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    commit_log: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "tenant": self.id,
            "apps": [
                {
                    **app.to_graph(),
                    "contentVersions": [
                        {"id": cv.id, "files": [f.to_graph() | {"failure": f.failure} for f in cv.files.values()]}
                        for cv in app.content_versions.values()
                    ],
                    "assignments": app.assignments,
                }
                for app in self.apps.values()
            ],
            "groups": [g.to_graph() | {"members": g.members} for g in self.groups.values()],
            "commits": self.commit_log,
            "faults": {"calls": self.faults.calls, "blocks": self.faults.blocks},
        }


@dataclass
class Store:
    blob_dir: Path
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def tenant(self, tenant_id: str) -> Tenant:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = Tenant(tenant_id)
        return self.tenants[tenant_id]


def new_id() -> str:
    return str(uuid.uuid4())
