"""Bench: upload 1 GiB of Intune content to the Graph sandbox, 1 block in flight vs several.

    .venv/bin/python -m bench intune-upload [--size-mib N] [--in-flight 1,4]

Starts its own sandbox (HTTPS on loopback, state in a temp dir deleted afterwards), gets tokens through MSAL from
the sandbox's Entra stand-in, and times BlockUploader.upload — encryption of the generated stream and the Put
Block / Put Block List calls, 6 MiB blocks — for each in-flight setting on a fresh tenant. The sandbox writes
blocks to disk; loopback TLS and that disk bound the result, not a real network.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from greenlight.graph.client import open_graph_client, tls_context
from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.intune.blocks import BlockUploader
from greenlight.intune.builder import ContentBuild, member_from_stream
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.upload import Checkpoint, GraphSas, PublishOptions, Win32AppPublisher
from greenlight.intune.zipstream import StoredZip
from greenlight.settings import Secret
from scripts.localstack import start_sandbox

BODY = {
    "@odata.type": "#microsoft.graph.win32LobApp",
    "displayName": "Upload bench",
    "publisher": "Greenlight",
    "notes": "[Greenlight|Bench.Upload|1|x64|machine]",
    "fileName": "IntunePackage.intunewin",
    "setupFilePath": "setup.exe",
    "installCommandLine": "setup.exe /S",
    "uninstallCommandLine": "setup.exe /uninstall",
    "rules": [
        {
            "@odata.type": "#microsoft.graph.win32LobAppRegistryRule",
            "ruleType": "detection",
            "keyPath": r"HKEY_LOCAL_MACHINE\SOFTWARE\Bench",
            "operationType": "exists",
        }
    ],
}


class _Repeating:
    """`size` bytes cycling over a 4 MiB random pattern (compressibility is irrelevant to an upload)."""

    PATTERN = os.urandom(4 * 1024 * 1024)

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.offset = 0

    def read(self, n: int) -> bytes:
        n = min(n, self.remaining, len(self.PATTERN) - self.offset)
        out = self.PATTERN[self.offset : self.offset + n]
        self.offset = (self.offset + n) % len(self.PATTERN)
        self.remaining -= n
        return out

    def __enter__(self) -> _Repeating:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


async def _one(sandbox, size: int, in_flight: int) -> tuple[float, float]:
    settings = GraphSettings(
        tenant_id=str(uuid.uuid4()),
        graph_url=sandbox.graph_url,
        authority_host=sandbox.entra_url,
        auth_mode=GraphAuthMode.CLIENT_SECRET,
        client_id="greenlight-bench",
        client_secret=Secret("GREENLIGHT_GRAPH_CLIENT_SECRET", literal="sandbox-secret"),
        certificate_pem=None,
        ca_bundle=str(sandbox.ca_file),
        allow_http_loopback=False,
        max_attempts=8,
    )
    async with (
        open_graph_client(settings) as graph,
        httpx.AsyncClient(verify=tls_context(str(sandbox.ca_file)), timeout=120) as blob_http,
    ):
        publisher = Win32AppPublisher(graph, blob_http, PublishOptions(poll_interval=0.1))
        build = ContentBuild(StoredZip([member_from_stream("setup.exe", size, lambda: _Repeating(size))]))
        app = await publisher.ensure_app(BODY, BODY["notes"], None)
        version, content_file = await publisher.ensure_content_file(app, Checkpoint(ContentKeys.generate()), build)
        path = (
            f"deviceAppManagement/mobileApps/{app['id']}/microsoft.graph.win32LobApp/contentVersions/"
            f"{version}/files/{content_file['id']}"
        )
        state = await publisher._poll("SAS", lambda: graph.get(path), lambda f: bool(f.get("azureStorageUri")))
        uploader = BlockUploader(blob_http, GraphSas(publisher, path, state), in_flight=in_flight)
        start = time.perf_counter()
        await uploader.upload(build)
        return time.perf_counter() - start, build.encrypted_size / 1024 / 1024


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench intune-upload")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--in-flight", default="1,4")
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="greenlight-bench-upload-"))
    process, sandbox = start_sandbox(state / "logs", state)
    try:
        for in_flight in (int(v) for v in args.in_flight.split(",")):
            seconds, mib = asyncio.run(_one(sandbox, args.size_mib * 1024 * 1024, in_flight))
            print(f"upload {mib:.0f} MiB, {in_flight} block(s) in flight: {seconds:6.2f} s  {mib / seconds:7.1f} MiB/s")
            shutil.rmtree(state / "graph-blobs", ignore_errors=True)
            (state / "graph-blobs").mkdir()
    finally:
        process.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
