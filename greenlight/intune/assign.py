"""Assignment groups and app assignments, idempotent: a retry finds what the first attempt created.

Group name: `Greenlight-{Package}-{version}-{arch}`. `/assign` replaces the whole assignment list, so the current
list is read and merged first (format reference §2.8); an identical assignment is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphBadRequest, GraphTransportError
from greenlight.graph.urls import DIRECTORY_API, odata_quote

APPS = "deviceAppManagement/mobileApps"
Intent = Literal["required", "available", "uninstall"]


def group_name(package_id: str, version: str, architecture: str) -> str:
    return f"Greenlight-{package_id}-{version}-{architecture}"


def _mail_nickname(name: str) -> str:
    # mailNickname allows ASCII without spaces and some symbols; keep it simple and within 64 characters.
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)[:64]


@dataclass(frozen=True)
class AssignmentSpec:
    group_id: str
    intent: Intent = "required"
    notifications: Literal["showAll", "showReboot", "hideAll"] = "showAll"
    filter_id: str | None = None
    filter_type: Literal["none", "include", "exclude"] = "none"
    delivery_optimization_priority: Literal["notConfigured", "foreground"] = "notConfigured"

    def to_graph(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.win32LobAppAssignmentSettings",
            "notifications": self.notifications,
            "restartSettings": None,
            "installTimeSettings": None,
            "deliveryOptimizationPriority": self.delivery_optimization_priority,
        }
        if self.intent == "available":
            settings["autoUpdateSettings"] = {
                "@odata.type": "#microsoft.graph.win32LobAppAutoUpdateSettings",
                "autoUpdateSupersededAppsState": "enabled",
            }
        return {
            "@odata.type": "#microsoft.graph.mobileAppAssignment",
            "intent": self.intent,
            "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                "groupId": self.group_id,
                "deviceAndAppManagementAssignmentFilterId": self.filter_id,
                "deviceAndAppManagementAssignmentFilterType": self.filter_type if self.filter_id else "none",
            },
            "settings": settings,
        }


class Assignments:
    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    async def find_group(self, name: str) -> dict[str, Any] | None:
        params = {"$filter": f"displayName eq {odata_quote(name)}"}
        async for group in self.graph.paged("groups", params=params, version=DIRECTORY_API):
            return group
        return None

    async def ensure_group(self, name: str, description: str = "") -> dict[str, Any]:
        existing = await self.find_group(name)
        if existing is not None:
            return existing
        body = {
            "displayName": name,
            "description": description or f"Managed by Greenlight: devices/users that get {name}",
            "mailEnabled": False,
            "mailNickname": _mail_nickname(name),
            "securityEnabled": True,
        }
        try:
            created = await self.graph.post("groups", body, version=DIRECTORY_API)
        except GraphTransportError:
            existing = await self.find_group(name)  # the lost POST may have created it
            if existing is not None:
                return existing
            created = await self.graph.post("groups", body, version=DIRECTORY_API)
        assert created is not None
        return created

    async def add_member(self, group_id: str, object_id: str) -> bool:
        """Add a user or device; False if it was already a member (not an error: retries land here)."""
        body = {"@odata.id": self.graph.urls.directory_object(object_id)}
        try:
            await self.graph.post(f"groups/{group_id}/members/$ref", body, version=DIRECTORY_API)
        except GraphBadRequest as error:
            if "already exist" in str(error):
                return False
            raise
        return True

    async def assign(self, app_id: str, spec: AssignmentSpec) -> bool:
        """Make `spec` one of the app's assignments, keeping the others; False if it was already there."""
        current = [a async for a in self.graph.paged(f"{APPS}/{app_id}/assignments")]
        wanted = spec.to_graph()
        merged: list[dict[str, Any]] = []
        for assignment in current:
            target = assignment.get("target", {})
            same_target = (
                target.get("groupId") == spec.group_id and target.get("@odata.type") == wanted["target"]["@odata.type"]
            )
            if same_target and assignment.get("intent") == spec.intent:
                return False
            if not same_target:
                merged.append({k: v for k, v in assignment.items() if k not in {"id", "source", "sourceId"}})
        merged.append(wanted)
        await self.graph.post(f"{APPS}/{app_id}/assign", {"mobileAppAssignments": merged})
        return True
