"""Bench: upload Intune content to the Graph sandbox (1 vs several blocks in flight), next to packaging the same
stream, in the same run.

    .venv/bin/python -m bench intune-upload [--size-mib 1024] [--in-flight 1,4,16] [--rounds 2]

Starts its own sandbox (HTTPS on loopback, state in a temp dir deleted afterwards). Every measurement is a child
process of its own, in an order that alternates between rounds:
- upload: tokens through MSAL from the sandbox's Entra stand-in, app + content file through Graph, then
  BlockUploader.upload timed alone (encryption of a generated stream, every Put Block, the Put Block List);
- packaging: the same generated stream through the same ContentBuild into a file (write_blob), timed alike.
Reported: both times (in the child), their ratio, the client's own peak RSS (VmHWM, bench/procs.py) and the
sandbox's CPU seconds per upload (one Python process terminating TLS and writing every block to disk).
Targets: upload <= 1.5x packaging; client peak RSS < 100 MiB at any size and in-flight setting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.procs import load_average, run, summary
from greenlight.graph.client import open_graph_client, tls_context
from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.intune.blocks import BlockUploader
from greenlight.intune.builder import ContentBuild, member_from_stream, write_blob
from greenlight.intune.crypto import ContentKeys
from greenlight.intune.upload import Checkpoint, GraphSas, PublishOptions, Win32AppPublisher
from greenlight.intune.zipstream import StoredZip
from greenlight.settings import Secret
from scripts.localstack import SandboxEndpoints, start_sandbox

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
        buffer = bytearray(min(n, self.remaining))
        return bytes(buffer[: self.readinto(buffer)])

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = min(len(buffer), self.remaining, len(self.PATTERN) - self.offset)
        memoryview(buffer)[:n] = memoryview(self.PATTERN)[self.offset : self.offset + n]
        self.offset = (self.offset + n) % len(self.PATTERN)
        self.remaining -= n
        return n

    def close(self) -> None:
        return None

    def __enter__(self) -> _Repeating:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _build(size: int) -> ContentBuild:
    return ContentBuild(StoredZip([member_from_stream("setup.exe", size, lambda: _Repeating(size))]))


def _pack(size: int, out: Path) -> int:
    start = time.perf_counter()
    with open(out, "wb") as sink:
        write_blob(_build(size), sink)
    print(json.dumps({"seconds": time.perf_counter() - start}))
    return 0


async def _upload(sandbox: SandboxEndpoints, size: int, in_flight: int) -> dict[str, float]:
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
        build = _build(size)
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
        return {"seconds": time.perf_counter() - start, "blocks": uploader.stats.blocks_uploaded}


def _round(sandbox: SandboxEndpoints, server: Any, args: argparse.Namespace, flip: bool) -> dict:
    python = sys.executable
    settings = [int(v) for v in args.in_flight.split(",")]
    child = [python, "-m", "bench.intune_upload", "--size-mib", str(args.size_mib)]
    endpoints = [sandbox.base_url, str(sandbox.ca_file), str(sandbox.state_dir)]
    jobs = [(f"upload-{n}", [*child, "--in-flight", str(n), "--child", *endpoints]) for n in settings]
    jobs.append(("pack", [*child, "--pack", str(sandbox.state_dir / "packed.bin")]))
    results = {}
    for name, argv in reversed(jobs) if flip else jobs:
        cpu_before = sum(server.cpu_times()[:2])
        finished = run(argv)
        result = json.loads(finished.stdout)
        result.update(peak_rss_mib=finished.peak_rss_mib, server_cpu=sum(server.cpu_times()[:2]) - cpu_before)
        results[name] = result
        (sandbox.state_dir / "packed.bin").unlink(missing_ok=True)
        shutil.rmtree(sandbox.state_dir / "graph-blobs", ignore_errors=True)
        (sandbox.state_dir / "graph-blobs").mkdir()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench intune-upload")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--in-flight", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--pack", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = args.size_mib * 1024 * 1024
    if args.pack:
        return _pack(size, args.pack)
    if args.child:
        endpoints = SandboxEndpoints(args.child[0], Path(args.child[1]), Path(args.child[2]))
        print(json.dumps(asyncio.run(_upload(endpoints, size, int(args.in_flight)))))
        return 0
    import psutil  # the parent's only: the measured children stay as small as the client itself

    state = Path(tempfile.mkdtemp(prefix="greenlight-bench-upload-"))
    process, sandbox = start_sandbox(state / "logs", state)
    try:
        server = psutil.Process(process.process.pid)
        rounds = [_round(sandbox, server, args, flip=n % 2 == 1) for n in range(args.rounds)]
    finally:
        process.stop()
        shutil.rmtree(state, ignore_errors=True)
    print(f"{args.size_mib} MiB, {args.rounds} rounds; {load_average()}")
    pack = [r["pack"]["seconds"] for r in rounds]
    print(
        f"  packaging the same stream to a file: {summary(pack)}, peak RSS "
        f"{max(r['pack']['peak_rss_mib'] for r in rounds):.1f} MiB"
    )
    for name in (k for k in rounds[0] if k.startswith("upload-")):
        seconds = [r[name]["seconds"] for r in rounds]
        ratio = [r[name]["seconds"] / r["pack"]["seconds"] for r in rounds]
        rss = max(r[name]["peak_rss_mib"] for r in rounds)
        server_cpu = statistics.median(r[name]["server_cpu"] for r in rounds)
        print(
            f"  upload, {name.split('-')[1]:>2} in flight: {summary(seconds)} "
            f"({args.size_mib / statistics.median(seconds):.0f} MiB/s), {summary(ratio, 'x')} packaging; "
            f"client peak RSS {rss:.1f} MiB; sandbox CPU {server_cpu:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
