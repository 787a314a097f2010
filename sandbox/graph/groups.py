"""/groups: create, find by displayName, members/$ref — enough for Greenlight's assignment groups."""

from __future__ import annotations

import re

from aiohttp import web

from sandbox.graph.common import GraphError, collection, context, json_body
from sandbox.graph.schema import GROUP, BodyError, validate_object
from sandbox.graph.store import Group, new_id

# As Microsoft documents the least privileged and higher privileged application permissions of each call
# (learn.microsoft.com/graph/api/group-list, group-get, group-list-members, group-post-groups, group-post-members).
GROUPS_READ = (
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
)
GROUPS_WRITE = ("Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All")
MEMBERS_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
_DISPLAY_NAME_EQ = re.compile(r"^displayName eq '((?:[^']|'')*)'$")
_DIRECTORY_OBJECT = re.compile(r"^https://graph\.microsoft\.com/(?:v1\.0|beta)/directoryObjects/([0-9a-fA-F-]{36})$")


def _group(request: web.Request) -> Group:
    group = context(request).tenant.groups.get(request.match_info["group"])
    if group is None:
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{request.match_info['group']}' does not exist")
    return group


async def create_group(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*GROUPS_WRITE)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise GraphError(400, "Request_BadRequest", "expected a group object")
    try:
        validate_object(body, GROUP, "group", required=("displayName", "mailNickname"))
    except BodyError as error:
        raise GraphError(400, "Request_BadRequest", str(error)) from None
    if body.get("mailEnabled") is None or body.get("securityEnabled") is None:
        raise GraphError(400, "Request_BadRequest", "mailEnabled and securityEnabled are required")
    group = Group(new_id(), {**body, "groupTypes": body.get("groupTypes", [])})
    ctx.tenant.groups[group.id] = group
    return web.json_response(group.to_graph(), status=201)


async def list_groups(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*GROUPS_READ)
    groups = list(ctx.tenant.groups.values())
    filter_text = request.query.get("$filter")
    if filter_text:
        match = _DISPLAY_NAME_EQ.match(filter_text.strip())
        if match is None:
            raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported $filter: {filter_text!r}")
        wanted = match.group(1).replace("''", "'")
        groups = [g for g in groups if g.body.get("displayName") == wanted]
    return collection(request, [g.to_graph() for g in groups], f"{ctx.base}/$metadata#groups")


async def get_group(request: web.Request) -> web.Response:
    context(request).require(*GROUPS_READ)
    return web.json_response(_group(request).to_graph())


async def add_member(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*MEMBERS_WRITE)
    group = _group(request)
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"@odata.id"}:
        raise GraphError(400, "Request_BadRequest", 'the body must be {"@odata.id": ".../directoryObjects/{id}"}')
    match = _DIRECTORY_OBJECT.match(str(body["@odata.id"]))
    if match is None:
        raise GraphError(400, "Request_BadRequest", "Invalid object identifier in @odata.id")
    member = match.group(1).lower()
    if member in group.members:
        raise GraphError(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        )
    group.members.append(member)
    return web.Response(status=204)


async def list_members(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*GROUPS_READ)
    members = [{"@odata.type": "#microsoft.graph.directoryObject", "id": m} for m in _group(request).members]
    return collection(request, members, f"{ctx.base}/$metadata#directoryObjects")


def add_routes(app: web.Application) -> None:
    base = "/{version:v1\\.0|beta}/groups"
    app.router.add_post(base, create_group)
    app.router.add_get(base, list_groups)
    app.router.add_get(base + "/{group}", get_group)
    app.router.add_post(base + "/{group}/members/$ref", add_member)
    app.router.add_get(base + "/{group}/members", list_members)
