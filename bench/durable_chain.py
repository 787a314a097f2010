"""500 concurrent instances of a 5-activity chain through devhost (a real process) + Azurite.

    python -m bench durable [--instances=500] [--concurrency=64]

Starts Azurite (in memory) and `python -m devhost --app bench.durable_app:app`, starts the instances through
the extension's HTTP API (what `DurableOrchestrationClient.start_new` calls), polls the list API for
completions every 100 ms, and samples devhost's RSS. Prints JSON and a Markdown row for docs/PERFORMANCE.md.
Completion times are client-observed (start request answered -> first poll that sees Completed), so they
include up to one polling interval.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from scripts.localstack import start_azurite, start_devhost

POLL_SECONDS = 0.1


def _option(argv: list[str], name: str, default: int) -> int:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _run(base_url: str, devhost_pid: int, instances: int, concurrency: int) -> dict[str, float]:
    started: dict[str, float] = {}
    completed: dict[str, float] = {}
    failed: set[str] = set()
    peak_rss = 0
    process = psutil.Process(devhost_pid)
    limit = asyncio.Semaphore(concurrency)
    done = asyncio.Event()

    async with aiohttp.ClientSession(base_url) as http:

        async def start(n: int) -> None:
            async with limit, http.post("/durabletask/orchestrators/chain5", json=json.dumps(n)) as response:
                body = await response.json()
                if response.status != 202:
                    raise RuntimeError(f"start failed: {response.status} {body}")
                started[body["id"]] = time.perf_counter()

        async def poll() -> None:
            while len(completed) + len(failed) < instances:
                await asyncio.sleep(POLL_SECONDS)
                async with http.get("/durabletask/instances/?runtimeStatus=Completed,Failed") as response:
                    now = time.perf_counter()
                    for record in await response.json():
                        if record["runtimeStatus"] == "Failed":
                            failed.add(record["instanceId"])
                        elif record["instanceId"] not in completed:
                            completed[record["instanceId"]] = now
            done.set()

        async def sample_memory() -> None:
            nonlocal peak_rss
            while not done.is_set():
                peak_rss = max(peak_rss, process.memory_info().rss)
                await asyncio.sleep(0.05)

        begin = time.perf_counter()
        sampler = asyncio.create_task(sample_memory())
        poller = asyncio.create_task(poll())
        await asyncio.gather(*(start(n) for n in range(instances)))
        await poller
        await sampler
        end = max(completed.values()) if completed else time.perf_counter()

    latencies = [completed[i] - started[i] for i in completed if i in started]
    return {
        "instances": instances,
        "completed": len(completed),
        "failed": len(failed),
        "wall_seconds": round(end - begin, 2),
        "instances_per_second": round(len(completed) / (end - begin), 1),
        "activities_per_second": round(5 * len(completed) / (end - begin), 1),
        "p50_seconds": round(statistics.median(latencies), 2) if latencies else float("nan"),
        "p99_seconds": round(_percentile(latencies, 0.99), 2) if latencies else float("nan"),
        "peak_rss_mib": round(peak_rss / 2**20, 1),
    }


def main(argv: list[str]) -> int:
    instances = _option(argv, "instances", 500)
    concurrency = _option(argv, "concurrency", 64)
    with tempfile.TemporaryDirectory(prefix="bench-durable-") as tmp:
        logs = Path(tmp)
        azurite, ports = start_azurite(logs)
        devhost = None
        try:
            env = {
                "AzureWebJobsStorage": ports.connection_string,
                "DEVHOST_TASK_HUB": "BenchHub",
                "DEVHOST_MAX_CONCURRENT_ACTIVITIES": "16",  # explicit: host.json's value would apply otherwise
            }
            devhost, base_url = start_devhost(logs, env, app="bench.durable_app:app")
            result = asyncio.run(_run(base_url, devhost.process.pid, instances, concurrency))
        finally:
            if devhost is not None:
                devhost.stop()
            azurite.stop()
    print(json.dumps(result, indent=2))
    print(
        f"| {result['instances']} × 5-activity chain | {result['instances_per_second']} instances/s "
        f"({result['activities_per_second']} activities/s) | p50 {result['p50_seconds']} s | "
        f"p99 {result['p99_seconds']} s | {result['peak_rss_mib']} MiB |"
    )
    return 0 if result["completed"] == instances else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
