"""The SAS blob endpoint Intune hands out for content uploads: Put Block, Put Block List, Get Block List.

Served by the sandbox itself over HTTPS (no Azurite needed), with Azure's semantics where Greenlight depends on
them: block ids are base64 and all of one blob's ids have the same length; a block list commits blocks in list
order (not upload order); the SAS signature and its `se` expiry are checked on every call (403
AuthenticationFailed); errors are Azure's XML with `x-ms-error-code`. A block arrives whole or not at all (written
to a temp file, then renamed), so a dropped connection never leaves half a block.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from sandbox.graph.store import Faults

MAX_BLOCK = 100 * 1024 * 1024  # sv=2016-05-31
_SECRET = secrets.token_bytes(32)  # per sandbox process: SAS URLs do not survive a restart, as in Azure
SERVICE_VERSION = "2016-05-31"


def _signature(path: str, expires: str) -> str:
    return base64.b64encode(hmac.new(_SECRET, f"{path}\n{expires}".encode(), hashlib.sha256).digest()).decode()


def sas_url(base_url: str, blob_key: str, lifetime_seconds: int) -> tuple[str, dt.datetime]:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime_seconds)).replace(microsecond=0)
    se = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/graph/_blob/{blob_key}"
    st = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = f"sv={SERVICE_VERSION}&sr=b&sp=rw&st={quote(st, safe='')}&se={quote(se, safe='')}"
    query += f"&sig={quote(_signature(path, se), safe='')}"
    return f"{base_url}{path}?{query}", expires


def _error(status: int, code: str, message: str) -> web.Response:
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return web.Response(
        status=status, body=body.encode(), content_type="application/xml", headers={"x-ms-error-code": code}
    )


class BlobService:
    def __init__(self, root: Path, faults_for_blob: callable) -> None:  # type: ignore[valid-type]
        self.root = root
        self._faults_for_blob = faults_for_blob  # blob key -> the owning tenant's Faults (or None)
        self.on_change: Any = None  # called with a tenant after a background change (commit verified)

    def _dir(self, blob_key: str) -> Path:
        return self.root / blob_key

    def committed_blocks(self, blob_key: str) -> list[str]:
        path = self._dir(blob_key) / "blocklist.json"
        return json.loads(path.read_text()) if path.exists() else []

    def _block_path(self, blob_key: str, block_id: str) -> Path:
        return self._dir(blob_key) / "blocks" / binascii.hexlify(block_id.encode()).decode()

    def committed_size(self, blob_key: str) -> int:
        return sum(self._block_path(blob_key, b).stat().st_size for b in self.committed_blocks(blob_key))

    def read_committed(self, blob_key: str, chunk: int = 1024 * 1024) -> Iterator[bytes]:
        for block_id in self.committed_blocks(blob_key):
            with open(self._block_path(blob_key, block_id), "rb") as source:
                while data := source.read(chunk):
                    yield data

    def _check_sas(self, request: web.Request, blob_key: str) -> web.Response | None:
        se, sig = request.query.get("se"), request.query.get("sig")
        if not se or not sig or request.query.get("sv") != SERVICE_VERSION:
            return _error(403, "AuthenticationFailed", "Server failed to authenticate the request: no SAS")
        if not hmac.compare_digest(sig, _signature(f"/graph/_blob/{blob_key}", se)):
            return _error(403, "AuthenticationFailed", "Signature did not match.")
        try:
            expires = dt.datetime.strptime(se, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return _error(403, "AuthenticationFailed", "se is not a valid time")
        if dt.datetime.now(dt.UTC) >= expires:
            return _error(
                403, "AuthenticationFailed", "Signed expiry time must be after signed start time / SAS expired"
            )
        faults: Faults | None = self._faults_for_blob(blob_key)
        if faults is not None and faults.fresh_sas_seconds and request.query.get("st"):
            issued = dt.datetime.strptime(request.query["st"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            if (dt.datetime.now(dt.UTC) - issued).total_seconds() < faults.fresh_sas_seconds:
                faults.fresh_sas_refusals += 1  # Intune quirk: a brand-new SAS is refused for a few seconds
                return _error(403, "AuthenticationFailed", "Server failed to authenticate the request (fresh SAS).")
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        blob_key = request.match_info["key"]
        if ".." in blob_key.split("/") or not (self._dir(blob_key) / "owner").exists():
            return _error(404, "BlobNotFound", "The specified blob does not exist.")
        denied = self._check_sas(request, blob_key)
        if denied is not None:
            return denied
        comp = request.query.get("comp")
        if request.method == "PUT" and comp == "block":
            return await self._put_block(request, blob_key)
        if request.method == "PUT" and comp == "blocklist":
            return await self._put_block_list(request, blob_key)
        if request.method == "GET" and comp == "blocklist":
            return self._get_block_list(request, blob_key)
        return _error(400, "UnsupportedHttpVerb", f"{request.method} comp={comp} is not supported here")

    async def _put_block(self, request: web.Request, blob_key: str) -> web.StreamResponse:
        block_id = request.query.get("blockid", "")
        try:
            raw = base64.b64decode(block_id, validate=True)
        except binascii.Error:
            raw = b""
        if not raw or len(raw) > 64:
            return _error(400, "InvalidQueryParameterValue", "blockid must be base64 of at most 64 bytes")
        blocks_dir = self._dir(blob_key) / "blocks"
        existing = [binascii.unhexlify(p.name).decode() for p in blocks_dir.iterdir() if not p.name.endswith(".tmp")]
        if any(len(other) != len(block_id) for other in existing):
            return _error(400, "InvalidBlobOrBlock", "The specified blob or block content is invalid (id length)")
        length = request.content_length
        if length is None:
            return _error(411, "MissingContentLengthHeader", "Content-Length is required")
        if length > MAX_BLOCK:
            return _error(413, "RequestBodyTooLarge", "The request body is too large")
        faults: Faults | None = self._faults_for_blob(blob_key)
        if faults is not None and faults.block_delay_seconds:
            await asyncio.sleep(faults.block_delay_seconds)
        drop = False
        if faults is not None and faults.drop_block_every:
            faults.blocks += 1
            drop = faults.blocks % faults.drop_block_every == 0
        target = self._block_path(blob_key, block_id)
        partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
        received = 0
        with open(partial, "wb") as out:
            async for data in request.content.iter_chunked(256 * 1024):
                out.write(data)
                received += len(data)
                if drop and received >= length // 2:
                    break
        if drop:
            partial.unlink(missing_ok=True)
            if request.transport is not None:
                request.transport.abort()  # what a reset connection mid-upload looks like to the client
            raise ConnectionResetError("sandbox fault: dropped the connection mid-block")
        if received != length:
            partial.unlink(missing_ok=True)
            return _error(400, "InvalidInput", "body shorter than Content-Length")
        os.replace(partial, target)
        return web.Response(status=201, headers={"x-ms-request-server-encrypted": "true"})

    async def _put_block_list(self, request: web.Request, blob_key: str) -> web.Response:
        try:
            root = ET.fromstring(await request.read())  # noqa: S314 - ElementTree does not expand external entities
        except ET.ParseError:
            return _error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if root.tag != "BlockList":
            return _error(400, "InvalidXmlDocument", "root element must be BlockList")
        ids = [
            (element.text or "").strip() for element in root if element.tag in {"Latest", "Uncommitted", "Committed"}
        ]
        if not ids:
            return _error(400, "InvalidXmlDocument", "the block list is empty")
        for block_id in ids:
            if not self._block_path(blob_key, block_id).exists():
                return _error(400, "InvalidBlockList", "The specified block list is invalid.")
        (self._dir(blob_key) / "blocklist.json").write_text(json.dumps(ids))
        for path in (self._dir(blob_key) / "blocks").iterdir():  # uncommitted blocks are discarded on commit
            if binascii.unhexlify(path.name.split(".")[0]).decode() not in ids:
                path.unlink(missing_ok=True)
        return web.Response(status=201)

    def _get_block_list(self, request: web.Request, blob_key: str) -> web.Response:
        kind = request.query.get("blocklisttype", "committed")
        committed = self.committed_blocks(blob_key)
        blocks_dir = self._dir(blob_key) / "blocks"
        uncommitted = sorted(
            binascii.unhexlify(p.name).decode()
            for p in blocks_dir.iterdir()
            if not p.name.endswith(".tmp") and binascii.unhexlify(p.name).decode() not in committed
        )

        def section(tag: str, ids: list[str]) -> str:
            items = "".join(
                f"<Block><Name>{i}</Name><Size>{self._block_path(blob_key, i).stat().st_size}</Size></Block>"
                for i in ids
            )
            return f"<{tag}>{items}</{tag}>"

        body = '<?xml version="1.0" encoding="utf-8"?><BlockList>'
        if kind in {"committed", "all"}:
            body += section("CommittedBlocks", committed)
        if kind in {"uncommitted", "all"}:
            body += section("UncommittedBlocks", uncommitted)
        body += "</BlockList>"
        return web.Response(body=body.encode(), content_type="application/xml")

    def create(self, blob_key: str, tenant_id: str) -> None:
        (self._dir(blob_key) / "blocks").mkdir(parents=True, exist_ok=True)
        (self._dir(blob_key) / "owner").write_text(tenant_id)
