"""/deviceAppManagement/mobileApps: win32LobApp, content versions, files (SAS, renew, commit), publish, assign.

State machine as Intune runs it (format reference §2.4–2.5): a new file is azureStorageUriRequestPending, then
azureStorageUriRequestSuccess with a SAS URL; renewUpload → azureStorageUriRenewalPending → …RenewalSuccess;
commit → commitFilePending → commitFileSuccess, or commitFileFailed when the uploaded blob does not decrypt to the
declared size and digest with the given MAC. PATCH committedContentVersion → publishingState processing → published.
Pending states resolve after a short delay, so clients must poll as they do against Intune.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from greenlight.intune.crypto import EncryptionInfo
from greenlight.intune.errors import IntegrityError
from greenlight.intune.reader import verify_blob
from sandbox.graph import constraints
from sandbox.graph.blob import BlobService, sas_url
from sandbox.graph.common import GraphError, collection, context, json_body
from sandbox.graph.schema import CONTENT_FILE, BodyError, validate_assignment, validate_object, validate_win32_app
from sandbox.graph.store import App, ContentFile, ContentVersion, Tenant, new_id, now_iso

PENDING_SECONDS = 0.2
PUBLISH_SECONDS = 0.3
APPS_READ = ("DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All")
APPS_WRITE = ("DeviceManagementApps.ReadWrite.All",)
_CAST = "microsoft.graph.win32LobApp"


def _now() -> float:
    return asyncio.get_running_loop().time()


def _app(tenant: Tenant, app_id: str) -> App:
    app = tenant.apps.get(app_id)
    if app is None:
        raise GraphError(404, "ResourceNotFound", f"mobileApp {app_id} was not found")
    return app


def _resolve(app: App) -> None:
    if app.publishing_state == "processing" and _now() >= app.publish_at:
        app.publishing_state = "published"


def _bad_request(error: BodyError) -> GraphError:
    return GraphError(400, "BadRequest", str(error))


# ------------------------------------------------------------------------------------------------- apps


_FILTER_TERM = re.compile(r"^(?:contains\((\w+),\s*'((?:[^']|'')*)'\)|(\w+) eq '((?:[^']|'')*)'|isof\('[\w.]+'\))$")


def _matches(filter_text: str | None, body: dict[str, Any]) -> bool:
    """The $filter forms Greenlight and the tools use: contains(p,'x'), p eq 'x', isof('…'), joined by ' and '."""
    if not filter_text:
        return True
    for term in filter_text.split(" and "):
        match = _FILTER_TERM.match(term.strip())
        if match is None:
            raise GraphError(400, "BadRequest", f"Unsupported $filter term: {term!r}")
        if match.group(1):
            value = str(body.get(match.group(1)) or "")
            if match.group(2).replace("''", "'").lower() not in value.lower():
                return False
        elif match.group(3):
            if str(body.get(match.group(3))) != match.group(4).replace("''", "'"):
                return False
    return True


async def create_app(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    constraints.approval(ctx, "Creating an app")
    body = await json_body(request)
    try:
        validate_win32_app(body, beta=ctx.beta, create=True)
    except BodyError as error:
        raise _bad_request(error) from None
    app = App(new_id(), {k: v for k, v in body.items() if k != "@odata.type"})
    ctx.tenant.apps[app.id] = app
    return web.json_response(app.to_graph(), status=201)


async def list_apps(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    apps = []
    for app in ctx.tenant.apps.values():
        _resolve(app)
        if _matches(request.query.get("$filter"), app.to_graph()):
            apps.append(app.to_graph())
    return collection(request, apps, f"{ctx.base}/$metadata#deviceAppManagement/mobileApps")


async def get_app(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    app = _app(ctx.tenant, request.match_info["app"])
    _resolve(app)
    return web.json_response(app.to_graph())


async def patch_app(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    app = _app(ctx.tenant, request.match_info["app"])
    body = await json_body(request)
    try:
        validate_win32_app(body, beta=ctx.beta, create=False)
    except BodyError as error:
        raise _bad_request(error) from None
    version = body.get("committedContentVersion")
    if version is not None:
        content = app.content_versions.get(version)
        if content is None or not content.files:
            raise GraphError(400, "BadRequest", f"content version {version} does not exist or has no files")
        if not all(f.upload_state == "commitFileSuccess" for f in content.files.values()):
            raise GraphError(400, "BadRequest", f"content version {version} has files that are not committed")
        if app.body.get("committedContentVersion") != version:
            app.publishing_state = "processing"
            app.publish_at = _now() + PUBLISH_SECONDS
    app.body.update({k: v for k, v in body.items() if k != "@odata.type"})
    app.modified = now_iso()
    return web.Response(status=204)


async def delete_app(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    _app(ctx.tenant, request.match_info["app"])
    del ctx.tenant.apps[request.match_info["app"]]
    return web.Response(status=204)


# ------------------------------------------------------------------------------------------------- content


def _content_version(app: App, version_id: str) -> ContentVersion:
    version = app.content_versions.get(version_id)
    if version is None:
        raise GraphError(404, "ResourceNotFound", f"contentVersion {version_id} was not found")
    return version


def _file(version: ContentVersion, file_id: str) -> ContentFile:
    found = version.files.get(file_id)
    if found is None:
        raise GraphError(404, "ResourceNotFound", f"file {file_id} was not found")
    return found


async def create_content_version(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    app = _app(ctx.tenant, request.match_info["app"])
    body = await json_body(request)
    if body not in ({}, None) and body != {"@odata.type": "#microsoft.graph.mobileAppContent"}:
        raise GraphError(400, "BadRequest", "a new mobileAppContent takes an empty body")
    if (
        ctx.tenant.faults.uncommitted_first_version_400
        and app.content_versions
        and not any(f.committed for cv in app.content_versions.values() for f in cv.files.values())
    ):
        raise GraphError(400, "BadRequest", "The app's first content version was never committed; no new version")
    version = ContentVersion(str(len(app.content_versions) + 1))
    app.content_versions[version.id] = version
    return web.json_response({"@odata.type": "#microsoft.graph.mobileAppContent", "id": version.id}, status=201)


async def list_content_versions(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    app = _app(ctx.tenant, request.match_info["app"])
    items = [{"@odata.type": "#microsoft.graph.mobileAppContent", "id": v.id} for v in app.content_versions.values()]
    return collection(request, items, f"{ctx.base}/$metadata#mobileAppContents")


async def create_file(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    app = _app(ctx.tenant, request.match_info["app"])
    version = _content_version(app, request.match_info["cv"])
    body = await json_body(request)
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "expected a mobileAppContentFile object")
    try:
        validate_object(body, CONTENT_FILE, "mobileAppContentFile", odata_type="#microsoft.graph.mobileAppContentFile")
    except BodyError as error:
        raise _bad_request(error) from None
    size = body.get("sizeInBytes", body.get("size"))
    size_encrypted = body.get("sizeEncryptedInBytes", body.get("sizeEncrypted"))
    if not isinstance(size, int) or not isinstance(size_encrypted, int) or size < 0 or size_encrypted < 48:
        raise GraphError(400, "BadRequest", "size and sizeEncrypted are required")
    file_id = new_id()
    blob_key = f"{ctx.tenant.id}/{app.id}/{version.id}/{file_id}.intunewin.bin"
    blobs: BlobService = request.config_dict["graph_blobs"]
    blobs.create(blob_key, ctx.tenant.id)
    content_file = ContentFile(
        file_id, body["name"], size, size_encrypted, blob_key, pending_until=_now() + PENDING_SECONDS
    )
    version.files[file_id] = content_file
    return web.json_response(content_file.to_graph(), status=201)


def _advance(request: web.Request, tenant: Tenant, content_file: ContentFile) -> None:
    """Resolve pending SAS states once their delay has passed."""
    if _now() < content_file.pending_until:
        return
    if content_file.upload_state in {"azureStorageUriRequestPending", "azureStorageUriRenewalPending"}:
        base_url = request.config_dict["graph_base_url"]
        content_file.sas_url, content_file.sas_expires = sas_url(
            base_url, content_file.blob_key, tenant.faults.sas_lifetime_seconds
        )
        content_file.upload_state = (
            "azureStorageUriRequestSuccess"
            if content_file.upload_state == "azureStorageUriRequestPending"
            else "azureStorageUriRenewalSuccess"
        )


async def get_file(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    version = _content_version(_app(ctx.tenant, request.match_info["app"]), request.match_info["cv"])
    content_file = _file(version, request.match_info["file"])
    _advance(request, ctx.tenant, content_file)
    return web.json_response(content_file.to_graph())


async def list_files(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    version = _content_version(_app(ctx.tenant, request.match_info["app"]), request.match_info["cv"])
    for content_file in version.files.values():
        _advance(request, ctx.tenant, content_file)
    items = [f.to_graph() for f in version.files.values()]
    return collection(request, items, f"{ctx.base}/$metadata#mobileAppContentFiles")


async def renew_upload(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    version = _content_version(_app(ctx.tenant, request.match_info["app"]), request.match_info["cv"])
    content_file = _file(version, request.match_info["file"])
    if content_file.committed or content_file.upload_state in {"commitFilePending", "commitFileSuccess"}:
        raise GraphError(400, "BadRequest", f"cannot renew the upload of a file in state {content_file.upload_state}")
    content_file.upload_state = "azureStorageUriRenewalPending"
    content_file.pending_until = _now() + PENDING_SECONDS
    return web.Response(status=204)


async def commit_file(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    app = _app(ctx.tenant, request.match_info["app"])
    version = _content_version(app, request.match_info["cv"])
    content_file = _file(version, request.match_info["file"])
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or set(body) != {"fileEncryptionInfo"}
        or not isinstance(body["fileEncryptionInfo"], dict)
    ):
        raise GraphError(400, "BadRequest", 'the commit body must be {"fileEncryptionInfo": {...}} and nothing else')
    info_body = dict(body["fileEncryptionInfo"])
    info_body.pop("@odata.type", None)
    allowed = {"encryptionKey", "macKey", "initializationVector", "mac", "profileIdentifier", "fileDigest",
               "fileDigestAlgorithm"}  # fmt: skip
    unknown = set(info_body) - allowed
    if unknown:
        raise GraphError(400, "BadRequest", f"Property '{sorted(unknown)[0]}' does not exist on fileEncryptionInfo")
    try:
        info = EncryptionInfo.from_graph(info_body)
    except ValueError as error:
        raise GraphError(400, "BadRequest", f"fileEncryptionInfo: {error}") from None
    if content_file.upload_state == "commitFileSuccess":
        return web.Response(status=204)  # committing again is harmless
    if content_file.upload_state == "commitFilePending":
        raise GraphError(400, "BadRequest", "a commit of this file is already in progress")
    content_file.upload_state = "commitFilePending"
    content_file.commits += 1
    fail_on_purpose = ctx.tenant.faults.commit_fail_once and content_file.commits == 1
    blobs: BlobService = request.config_dict["graph_blobs"]
    asyncio.get_running_loop().create_task(_verify(ctx.tenant, content_file, info, blobs, fail_on_purpose))
    return web.Response(status=204)


async def _verify(
    tenant: Tenant, content_file: ContentFile, info: EncryptionInfo, blobs: BlobService, fail_on_purpose: bool
) -> None:
    """Decrypt the committed blob with the given keys and check MAC, size and digest, as Intune does."""
    started = _now()
    failure: str | None = None
    try:
        committed = await asyncio.to_thread(blobs.committed_size, content_file.blob_key)
        if committed != content_file.size_encrypted:
            failure = f"size-mismatch: blob is {committed} bytes, sizeEncrypted is {content_file.size_encrypted}"
        else:
            chunks = blobs.read_committed(content_file.blob_key)
            await asyncio.to_thread(verify_blob, chunks, info, content_file.size)
    except IntegrityError as error:
        failure = str(error)
    except OSError as error:
        failure = f"blob unreadable: {error}"
    if failure is None and fail_on_purpose:
        failure = "sandbox fault: commit fails once"
    await asyncio.sleep(max(0.0, started + PENDING_SECONDS - _now()))
    content_file.failure = failure
    content_file.upload_state = "commitFileFailed" if failure else "commitFileSuccess"
    content_file.committed = failure is None
    tenant.commit_log.append({"file": content_file.id, "ok": failure is None, "failure": failure})
    on_change = getattr(blobs, "on_change", None)
    if on_change is not None:
        on_change(tenant)


# ------------------------------------------------------------------------------------------------- assignments


async def assign(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_WRITE)
    app = _app(ctx.tenant, request.match_info["app"])
    _resolve(app)
    constraints.approval(ctx, "Assigning an app")
    body = await json_body(request)
    if (
        not isinstance(body, dict)
        or set(body) != {"mobileAppAssignments"}
        or not isinstance(body["mobileAppAssignments"], list)
    ):
        raise GraphError(400, "BadRequest", 'the body must be {"mobileAppAssignments": [...]}')
    if app.publishing_state != "published":
        raise GraphError(400, "BadRequest", f"the app cannot be assigned while it is {app.publishing_state}")
    try:
        for index, item in enumerate(body["mobileAppAssignments"]):
            validate_assignment(item, f"mobileAppAssignments[{index}]")
    except BodyError as error:
        raise _bad_request(error) from None
    for item in body["mobileAppAssignments"]:
        group = item["target"].get("groupId")
        if group is not None and group not in ctx.tenant.groups:
            raise GraphError(400, "BadRequest", f"group {group} does not exist")
    targets = [(a["target"]["@odata.type"], a["target"].get("groupId")) for a in body["mobileAppAssignments"]]
    if len(set(targets)) != len(targets):
        raise GraphError(400, "BadRequest", "the same target appears twice")
    app.assignments = [
        {**item, "id": item.get("id") or f"{app.id}_{index}", "@odata.type": "#microsoft.graph.mobileAppAssignment"}
        for index, item in enumerate(body["mobileAppAssignments"])
    ]
    return web.Response(status=204)


async def list_assignments(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    app = _app(ctx.tenant, request.match_info["app"])
    return collection(request, app.assignments, f"{ctx.base}/$metadata#mobileAppAssignments")


def add_routes(app: web.Application) -> None:
    v = "/{version:v1\\.0|beta}/deviceAppManagement/mobileApps"
    one = v + "/{app}"
    content = one + "/" + _CAST + "/contentVersions"
    files = content + "/{cv}/files"
    app.router.add_get(v + "/getPublishingConstraints()", constraints.publishing_constraints)  # before /{app}
    app.router.add_post(v, create_app)
    app.router.add_get(v, list_apps)
    app.router.add_get(one, get_app)
    app.router.add_patch(one, patch_app)
    app.router.add_delete(one, delete_app)
    app.router.add_post(content, create_content_version)
    app.router.add_get(content, list_content_versions)
    app.router.add_post(files, create_file)
    app.router.add_get(files, list_files)
    app.router.add_get(files + "/{file}", get_file)
    app.router.add_post(files + "/{file}/renewUpload", renew_upload)
    app.router.add_post(files + "/{file}/commit", commit_file)
    app.router.add_post(one + "/assign", assign)
    app.router.add_get(one + "/assignments", list_assignments)
