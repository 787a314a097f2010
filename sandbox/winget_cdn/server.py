"""The WinGet CDN stand-in: `/winget/` serves the genuine sandbox source, `/winget/v/<variant>/` tampered ones.

Sources are built lazily (in a worker thread, once per variant and process) from the seed manifests in
`seed/manifests/` plus the synthetic packages, signed by a test PKI whose root is written to
`STATE_DIR/winget/source-signing-root.pem` — the anchor a local client must be told to trust.
Like the real CDN: ETag + If-None-Match on every file, `x-ms-meta-sourceversion` on source2.msix, 404 for
anything not built. `GET /winget/_sandbox/info` describes the variants (a local test aid).
Installers are streamed from disk with HTTP Range support (206 + Content-Range), as a CDN serves them; every
installer answer is logged for `GET /winget/_sandbox/served` (path, first byte, bytes sent), and
`POST /winget/_sandbox/faults` can slow installers down (`installer_bytes_per_second`) or drop the connection
once after `drop_installer_after` bytes. Option `sized_installers=100,1024` adds `Greenlight.Sized{N}M`
packages with N MiB installers (the bench).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from aiohttp import web

from greenlight.winget.settings import SANDBOX_ROOT_NAME
from sandbox.config import SandboxConfig
from sandbox.winget_cdn.builder import BuiltSource, read_manifest_tree
from sandbox.winget_cdn.signing import TestPki
from sandbox.winget_cdn.synthetic import sandbox_packages, sized_packages
from sandbox.winget_cdn.variants import DESCRIPTIONS, VARIANTS, build_variant

log = logging.getLogger(__name__)
SEED = Path(__file__).resolve().parent / "seed" / "manifests"
CONTENT_TYPES = {"source2.msix": "application/msix", ".mszyml": "application/octet-stream"}


class WingetCdn:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = config.state_dir / "winget"
        self.pki = TestPki.load_or_create(self.state / "pki")
        (self.state / SANDBOX_ROOT_NAME).write_bytes(self.pki.root_pem())
        self._untrusted: TestPki | None = None
        self._built: dict[str, BuiltSource] = {}
        self._locks = {name: asyncio.Lock() for name in VARIANTS}
        self._documents: list[dict[str, Any]] | None = None
        self._now = dt.datetime.now(dt.UTC)
        self.served: list[dict[str, Any]] = []
        self.faults: dict[str, int] = {}

    def base_url(self, variant: str) -> str:
        suffix = "" if variant == "good" else f"/v/{variant}"
        return f"{self.config.base_url}/winget{suffix}"

    def untrusted(self) -> TestPki:
        if self._untrusted is None:
            self._untrusted = TestPki.create("Greenlight Sandbox")  # same names, other keys: never trusted
        return self._untrusted

    def documents(self) -> list[dict[str, Any]]:
        if self._documents is None:
            sizes = [int(n) for n in self.config.options.get("sized_installers", "").split(",") if n.strip()]
            self._documents = read_manifest_tree(SEED) + sandbox_packages() + sized_packages(sizes)
        return self._documents

    async def tree(self, variant: str) -> BuiltSource:
        if variant in self._built:
            return self._built[variant]
        async with self._locks[variant]:
            if variant not in self._built:
                out = self.state / "builds" / variant
                shutil.rmtree(out, ignore_errors=True)
                self._built[variant] = await asyncio.to_thread(
                    build_variant,
                    variant,
                    self.documents(),
                    out,
                    self.base_url(variant),
                    self.pki,
                    self.untrusted,
                    self._now,
                )
                log.info("built WinGet sandbox source %s (%s)", variant, self._built[variant].version)
        return self._built[variant]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        variant = "good"
        if tail.startswith("v/"):
            _, variant, *rest = tail.split("/", 2)
            tail = rest[0] if rest else ""
            if variant not in VARIANTS:
                raise web.HTTPNotFound()
        built = await self.tree(variant)
        path = (built.root / tail).resolve()
        if not tail or not path.is_relative_to(built.root.resolve()) or not path.is_file():
            raise web.HTTPNotFound()
        if tail.startswith("installers/"):
            return await self._installer(request, path, tail)
        data = await asyncio.to_thread(path.read_bytes)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "max-age=60"}
        if tail == "source2.msix":
            headers["x-ms-meta-sourceversion"] = built.version
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        content_type = CONTENT_TYPES.get(tail, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        if request.method == "HEAD":
            return web.Response(headers={**headers, "Content-Length": str(len(data))}, content_type=content_type)
        return web.Response(body=data, headers=headers, content_type=content_type)

    async def _installer(self, request: web.Request, path: Path, tail: str) -> web.StreamResponse:
        """Stream an installer from disk, honouring `Range: bytes=N-` (what resuming downloaders send)."""
        size = path.stat().st_size
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            if start >= size:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        headers = {
            "ETag": f'"{size:x}-{int(path.stat().st_mtime)}"',
            "Accept-Ranges": "bytes",
            "Content-Length": str(size - start),
        }
        if match:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        response = web.StreamResponse(status=206 if match else 200, headers=headers)
        response.content_type = "application/octet-stream"
        await response.prepare(request)
        record = {"path": tail, "start": start, "bytes": 0}
        self.served.append(record)
        if request.method == "HEAD":
            return response
        rate = self.faults.get("installer_bytes_per_second", 0)
        drop_after = self.faults.pop("drop_installer_after", 0)
        with open(path, "rb") as source:
            source.seek(start)
            while chunk := await asyncio.to_thread(source.read, 256 * 1024):
                if drop_after and record["bytes"] + len(chunk) > drop_after:
                    chunk = chunk[: drop_after - record["bytes"]]
                    await response.write(chunk)
                    record["bytes"] += len(chunk)
                    assert request.transport is not None
                    request.transport.abort()  # the connection drops mid-body, once
                    return response
                await response.write(chunk)
                record["bytes"] += len(chunk)
                if rate:
                    await asyncio.sleep(len(chunk) / rate)
        await response.write_eof()
        return response

    async def served_log(self, _: web.Request) -> web.Response:
        return web.json_response({"served": self.served})

    async def set_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - {"installer_bytes_per_second", "drop_installer_after"}
        if unknown:
            return web.json_response({"error": f"unknown fault switch {sorted(unknown)[0]!r}"}, status=400)
        self.faults = {k: int(v) for k, v in body.items()}
        return web.json_response({"faults": self.faults})

    async def info(self, _: web.Request) -> web.Response:
        good = await self.tree("good")
        return web.json_response(
            {
                "trust_root": str(self.state / SANDBOX_ROOT_NAME),
                "source_version": good.version,
                "packages": good.packages,
                "variants": {name: {"base_url": self.base_url(name), "what": DESCRIPTIONS[name]} for name in VARIANTS},
            }
        )


async def _redirect(request: web.Request) -> web.Response:
    """`?to=URL` answers 302 to URL: lets tests check that a client re-checks every redirect hop (test aid)."""
    raise web.HTTPFound(request.query.get("to", "/"))


def create_app(config: SandboxConfig) -> web.Application:
    cdn = WingetCdn(config)
    app = web.Application()
    app["winget_cdn"] = cdn
    app.router.add_get("/_sandbox/info", cdn.info)
    app.router.add_get("/_sandbox/redirect", _redirect)
    app.router.add_get("/_sandbox/served", cdn.served_log)
    app.router.add_post("/_sandbox/faults", cdn.set_faults)
    app.router.add_route("GET", "/{tail:.*}", cdn.serve)
    app.router.add_route("HEAD", "/{tail:.*}", cdn.serve)
    return app
