"""State of the Graph/Intune stand-in, one `Tenant` per token `tid` (tests use their own tenant id, so fault
switches and counts never leak between tests sharing the session sandbox).

Kept on disk like Intune keeps it: every tenant is written to `STATE_DIR/graph-state/<tid>.json` after each change
and read back at start, and uploaded blocks live under `STATE_DIR/graph-blobs/`. So restarting the sandbox
(`make run` keeps STATE_DIR under `.local/`) never leaves a PublishedApps row pointing at an app it forgot. What
was pending when it stopped resolves on the next read; a commit that was being verified ends commitFileFailed
(the client commits again)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
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
    approval_required: bool = False  # Multi Admin Approval: creating or assigning an app answers 403 ApprovalRequired
    fresh_sas_seconds: float = 0.0  # a SAS URL answers 403 for this long after it is issued (Intune quirk)
    uncommitted_first_version_400: bool = False  # new content versions refused while the first one is uncommitted
    block_delay_seconds: float = 0.0  # every Put Block waits this long (slow uploads for crash tests)
    max_content_bytes: int = 30 * 1000**3  # getPublishingConstraints' maxContentFileSizeInBytes
    calls: int = 0
    blocks: int = 0
    fresh_sas_refusals: int = 0

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in {"calls", "blocks", "fresh_sas_refusals"} or not hasattr(self, key):
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
            "faults": {
                "calls": self.faults.calls,
                "blocks": self.faults.blocks,
                "fresh_sas_refusals": self.faults.fresh_sas_refusals,
            },
        }


@dataclass
class Store:
    blob_dir: Path
    tenants: dict[str, Tenant] = field(default_factory=dict)
    state_dir: Path | None = None  # where tenants are kept between runs (None: memory only)

    def tenant(self, tenant_id: str) -> Tenant:
        if tenant_id not in self.tenants:
            self.tenants[tenant_id] = Tenant(tenant_id)
        return self.tenants[tenant_id]

    def save(self, tenant: Tenant) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"{uuid.UUID(tenant.id)}.json" if _is_uuid(tenant.id) else None
        if path is None:
            return  # only tenant ids that are safe file names are kept
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(dataclasses.asdict(tenant), default=_encode))
        os.replace(partial, path)  # whole or not at all

    def load(self) -> None:
        if self.state_dir is None or not self.state_dir.is_dir():
            return
        for path in self.state_dir.glob("*.json"):
            tenant = _tenant_from(json.loads(path.read_text()))
            self.tenants[tenant.id] = tenant


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _file_from(data: dict[str, Any]) -> ContentFile:
    expires = data.get("sas_expires")
    data = data | {"sas_expires": dt.datetime.fromisoformat(expires) if expires else None, "pending_until": 0.0}
    content_file = ContentFile(**data)
    if content_file.upload_state == "commitFilePending":  # its verification died with the previous process
        content_file.upload_state, content_file.failure = "commitFileFailed", "sandbox restarted during commit"
    return content_file


def _tenant_from(data: dict[str, Any]) -> Tenant:
    apps = {}
    for app_id, app in data["apps"].items():
        versions = {
            cv_id: ContentVersion(cv_id, {f_id: _file_from(f) for f_id, f in cv["files"].items()})
            for cv_id, cv in app["content_versions"].items()
        }
        apps[app_id] = App(**(app | {"content_versions": versions, "publish_at": 0.0}))
    groups = {group_id: Group(**group) for group_id, group in data["groups"].items()}
    return Tenant(data["id"], apps, groups, Faults(**data["faults"]), data["commit_log"])


def new_id() -> str:
    return str(uuid.uuid4())
