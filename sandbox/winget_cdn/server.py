"""The WinGet CDN stand-in: `/winget/` serves the genuine sandbox source, `/winget/v/<variant>/` tampered ones.

Sources are built lazily (in a worker thread, once per variant and process) from the seed manifests in
`seed/manifests/` plus the synthetic packages, signed by a test PKI whose root is written to
`STATE_DIR/winget/source-signing-root.pem` — the anchor a local client must be told to trust.
Like the real CDN: ETag + If-None-Match on every file, `x-ms-meta-sourceversion` on source2.msix, 404 for
anything not built. `GET /winget/_sandbox/info` describes the variants (a local test aid).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any

from aiohttp import web

from greenlight.winget.settings import SANDBOX_ROOT_NAME
from sandbox.config import SandboxConfig
from sandbox.winget_cdn.builder import BuiltSource, read_manifest_tree
from sandbox.winget_cdn.signing import TestPki
from sandbox.winget_cdn.synthetic import sandbox_packages
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

    def base_url(self, variant: str) -> str:
        suffix = "" if variant == "good" else f"/v/{variant}"
        return f"{self.config.base_url}/winget{suffix}"

    def untrusted(self) -> TestPki:
        if self._untrusted is None:
            self._untrusted = TestPki.create("Greenlight Sandbox")  # same names, other keys: never trusted
        return self._untrusted

    def documents(self) -> list[dict[str, Any]]:
        if self._documents is None:
            self._documents = read_manifest_tree(SEED) + sandbox_packages()
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
    app.router.add_route("GET", "/{tail:.*}", cdn.serve)
    app.router.add_route("HEAD", "/{tail:.*}", cdn.serve)
    return app
