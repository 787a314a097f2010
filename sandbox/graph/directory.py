"""The directory reads approval policies make (managers, transitive group members, checkMemberGroups) and the
display names on the bot's cards.

  GET  /{v}/users/{id}?$select=...                           a user of the org: id, displayName (404: no such user)
  GET  /{v}/users/{id}/manager                               the manager (404 Request_ResourceNotFound: none)
  GET  /{v}/groups/{id}/transitiveMembers/microsoft.graph.user   users in the group and its nested groups (paged)
  POST /{v}/users/{id}/checkMemberGroups  {"groupIds": [...]}    which of ≤ 20 groups the user is in, transitively
  POST /_sandbox/directory  {"tenant", "users": [{"id", "displayName"}], "managers": {user: manager | null},
                             "groups": [{"id", "displayName", "members": [user or group ids]}]}   set up an org
  GET  /_sandbox/directory?tenant=...                            the tenant's org (for assertions)

The sandbox tenant starts with the Playground's org (teams/playground.yml): Alex Wilber reports to Megan Bowen,
and the "IT Approvers" group holds Adele Vance and the nested "IT Service Desk" group (Isaiah Langer). Groups that
Greenlight created through /groups count too, with their direct members. Each tenant's org is its own, like the
rest of the sandbox, so tests set up theirs without touching the Playground's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from greenlight.settings import SANDBOX_TENANT_ID
from sandbox.graph.common import GraphError, collection, context, json_body

USERS_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
MEMBERS_READ = ("GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All")
CHECK_LIMIT = 20

ALEX = "4c1e8f3a-7b2d-4e6f-9a01-2b3c4d5e6f70"
MEGAN = "8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21"
ADELE = "1b3c5d7e-9f0a-4b2c-8d4e-6f8a0b2c4d62"
ISAIAH = "5e7f9a1b-3c5d-4e6f-a8b0-c2d4e6f8a093"
PATTI = "2a4c6e8f-0b1d-4c3e-9f5a-7b9d1f3a5c04"
LYNNE = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c65"
IT_APPROVERS_GROUP = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a50"
IT_SERVICE_DESK_GROUP = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c91"
PLAYGROUND_ORG: dict[str, Any] = {
    "users": [
        {"id": ALEX, "displayName": "Alex Wilber"},
        {"id": MEGAN, "displayName": "Megan Bowen"},
        {"id": ADELE, "displayName": "Adele Vance"},
        {"id": ISAIAH, "displayName": "Isaiah Langer"},
        {"id": PATTI, "displayName": "Patti Fernandez"},
        {"id": LYNNE, "displayName": "Lynne Robbins"},
    ],
    "managers": {ALEX: MEGAN, ADELE: LYNNE, ISAIAH: LYNNE},
    "groups": [
        {"id": IT_APPROVERS_GROUP, "displayName": "IT Approvers", "members": [ADELE, IT_SERVICE_DESK_GROUP]},
        {"id": IT_SERVICE_DESK_GROUP, "displayName": "IT Service Desk", "members": [ISAIAH]},
    ],
}


@dataclass
class Org:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"displayName", "members": [ids]}

    def update(self, body: dict[str, Any]) -> None:
        for user in body.get("users", []):
            self.users[str(user["id"]).lower()] = {"id": str(user["id"]).lower(), **_display(user)}
        for user, manager in dict(body.get("managers", {})).items():
            if manager is None:
                self.managers.pop(str(user).lower(), None)
            else:
                self.managers[str(user).lower()] = str(manager).lower()
        for group in body.get("groups", []):
            members = [str(m).lower() for m in group.get("members", [])]
            self.groups[str(group["id"]).lower()] = {**_display(group), "members": members}

    def summary(self) -> dict[str, Any]:
        return {"users": list(self.users.values()), "managers": self.managers, "groups": self.groups}


def _display(item: dict[str, Any]) -> dict[str, str]:
    return {"displayName": str(item.get("displayName", ""))}


def _org(request: web.Request, tenant_id: str) -> Org:
    orgs: dict[str, Org] = request.config_dict["graph_directory"]
    return orgs.setdefault(tenant_id.lower(), Org())


def _members_of(request: web.Request, group_id: str) -> list[str] | None:
    """Direct members of a group of the org, or of a group Greenlight created through /groups; None: no group."""
    ctx = context(request)
    org = _org(request, ctx.tenant.id)
    if group_id in org.groups:
        return list(org.groups[group_id]["members"])
    created = ctx.tenant.groups.get(group_id)
    return list(created.members) if created is not None else None


def _transitive_users(request: web.Request, group_id: str) -> list[str]:
    org = _org(request, context(request).tenant.id)
    seen_groups, users, pending = {group_id}, [], [group_id]
    while pending:
        for member in _members_of(request, pending.pop()) or []:
            if member in seen_groups:
                continue
            if _members_of(request, member) is not None and member not in org.users:
                seen_groups.add(member)
                pending.append(member)
            elif member not in users:
                users.append(member)
    return users


async def get_user(request: web.Request) -> web.Response:
    """A user of the org. Only `id` and `displayName` are held; `$select` picks among them (a property the sandbox
    does not hold is null, as Graph answers for an unset one); without it both come back."""
    ctx = context(request)
    ctx.require(*USERS_READ)
    user_id = request.match_info["user"].lower()
    user = _org(request, ctx.tenant.id).users.get(user_id)
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{user_id}' does not exist or one of its queried reference-property objects are not present.",
        )
    select = [s.strip() for s in request.query.get("$select", "").split(",") if s.strip()]
    fields = select or ["id", "displayName"]
    body = {name: user.get(name) for name in fields}
    context_url = (
        f"{ctx.base}/$metadata#users({','.join(select)})/$entity" if select else f"{ctx.base}/$metadata#users/$entity"
    )
    return web.json_response({"@odata.context": context_url, **body})


async def get_manager(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*USERS_READ)
    org = _org(request, ctx.tenant.id)
    user = request.match_info["user"].lower()
    manager = org.managers.get(user)
    if manager is None:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource 'manager' does not exist for '{user}'.")
    body = {"@odata.type": "#microsoft.graph.user", "id": manager, **org.users.get(manager, {})}
    return web.json_response({"@odata.context": f"{ctx.base}/$metadata#directoryObjects/$entity", **body})


async def transitive_users(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*MEMBERS_READ)
    group_id = request.match_info["group"].lower()
    if _members_of(request, group_id) is None:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{group_id}' does not exist.")
    items = [{"@odata.type": "#microsoft.graph.user", "id": u} for u in _transitive_users(request, group_id)]
    return collection(request, items, f"{ctx.base}/$metadata#users(id)")


async def check_member_groups(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*MEMBERS_READ)
    body = await json_body(request)
    ids = body.get("groupIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise GraphError(400, "Request_BadRequest", "groupIds must be a list of group ids")
    if len(ids) > CHECK_LIMIT:
        raise GraphError(400, "Request_BadRequest", f"groupIds can hold at most {CHECK_LIMIT} ids")
    user = request.match_info["user"].lower()
    found = [g for g in ids if user in _transitive_users(request, g.lower())]
    return web.json_response({"@odata.context": f"{ctx.base}/$metadata#Collection(Edm.String)", "value": found})


async def set_org(request: web.Request) -> web.Response:
    """Local test aid: add users, set or clear managers, define groups (members may be groups) for one tenant."""
    try:
        body = json.loads(await request.read())
        org = _org(request, str(body.pop("tenant")).lower())
        org.update(body)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return web.json_response({"error": f"{type(error).__name__}: {error}"}, status=400)
    return web.json_response(org.summary())


async def get_org(request: web.Request) -> web.Response:
    tenant_id = request.query.get("tenant")
    if not tenant_id:
        return web.json_response({"error": "tenant is required"}, status=400)
    return web.json_response(_org(request, tenant_id.lower()).summary())


def add_routes(app: web.Application) -> None:
    seeded = Org()
    seeded.update(PLAYGROUND_ORG)
    app["graph_directory"] = {SANDBOX_TENANT_ID: seeded}
    version = "/{version:v1\\.0|beta}"
    app.router.add_get(version + "/users/{user}", get_user)
    app.router.add_get(version + "/users/{user}/manager", get_manager)
    app.router.add_post(version + "/users/{user}/checkMemberGroups", check_member_groups)
    app.router.add_get(version + "/groups/{group}/transitiveMembers/microsoft.graph.user", transitive_users)
    app.router.add_post("/_sandbox/directory", set_org)
    app.router.add_get("/_sandbox/directory", get_org)
