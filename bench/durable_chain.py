"""500 concurrent instances of a 5-activity chain through devhost (a real process) + Azurite, next to the same
storage writes alone, in the same run.

    python -m bench durable [--instances 500] [--concurrency 64] [--rounds 2] [--poll-ms 500]

Starts Azurite (in memory) and `python -m devhost --app bench.durable_app:app`, starts the instances through
the extension's HTTP API (what `DurableOrchestrationClient.start_new` calls), polls the list API for
completions every 500 ms (`--poll-ms N`), and samples devhost's RSS and CPU. Completion times are
client-observed (start request answered -> first poll that sees Completed), so they include up to one polling
interval. Each poll lists every completed instance (devhost scans its table in Azurite and decodes the rows), so
polling every 100 ms, as this bench once did, added a storage and CPU load of its own that grows with the run.

Baseline, same run, same Azurite: the storage writes devhost makes for one instance — insert the instance row,
then one If-Match replace per episode (1 + 5 activities), the inline history growing to the size devhost's rows
reach — for the same number of instances, `concurrency` instances at a time, from this process, through the
client devhost uses for them (`TableRestClient`), and once more through the Azure SDK's TableClient for comparison.
Rounds alternate which goes first. Target: devhost >= 0.85x the baseline (the devhost client's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from azure.core import MatchConditions
from azure.core.pipeline.transport import AioHttpTransport
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from devhost.durable.table_rest import TableRestClient
from scripts.localstack import start_azurite, start_devhost


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _run(
    base_url: str, devhost_pid: int, instances: int, concurrency: int, poll_seconds: float = 0.5
) -> dict[str, float]:
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
                await asyncio.sleep(poll_seconds)
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


EPISODES = 6  # the first one, then one per activity result


async def _row_sizes(connection_string: str) -> tuple[int, int]:
    """Characters of the packed State and Inline columns of one completed instance row, as devhost wrote it."""
    transport = AioHttpTransport(use_env_settings=False)
    table = TableClient.from_connection_string(connection_string, "BenchHubDevhostDurable", transport=transport)
    async with table:
        async for row in table.query_entities("RowKey eq 'meta' and RuntimeStatus eq 'Completed'"):
            state = sum(len(v) for k, v in row.items() if k.startswith("State") and isinstance(v, str))
            inline = sum(len(v) for k, v in row.items() if k.startswith("Inline") and isinstance(v, str))
            return state, inline
    raise RuntimeError("no completed instance row to size the baseline on")


async def _storage_only(
    connection_string: str, instances: int, concurrency: int, sizes: tuple[int, int], client: str
) -> float:
    """Instances per second for devhost's writes alone: insert, then EPISODES If-Match replaces each.

    `client` "sdk": through the Azure SDK's TableClient; "rest": through devhost's own `TableRestClient`, the
    client devhost itself uses for these two calls (the fair floor for devhost).
    """
    state_chars, inline_chars = sizes
    name = f"StorageOnly{time.time_ns()}"
    transport = AioHttpTransport(use_env_settings=False)
    async with TableClient.from_connection_string(connection_string, name, transport=transport) as table:
        await table.create_table()
        rest = TableRestClient.for_table(table.url, name, table.credential, trust_env=False)
        assert rest is not None, "the bench's Azurite connection string carries an account key"
        limit = asyncio.Semaphore(concurrency)

        async def insert(entity: dict[str, str]) -> str:
            return await rest.insert(entity) if client == "rest" else (await table.create_entity(entity))["etag"]

        async def replace(entity: dict[str, str], etag: str) -> str:
            if client == "rest":
                return await rest.replace(entity, etag)
            condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
            return (await table.update_entity(entity, mode=UpdateMode.REPLACE, **condition))["etag"]

        async def one(n: int) -> None:
            async with limit:
                entity = {"PartitionKey": f"i-{n}", "RowKey": "meta", "Name": "chain5", "RuntimeStatus": "Pending"}
                entity.update(State0="s" * state_chars, Inline0="")
                etag = await insert(entity)
                for episode in range(1, EPISODES + 1):
                    entity["Inline0"] = "h" * (inline_chars * episode // EPISODES)
                    entity["RuntimeStatus"] = "Completed" if episode == EPISODES else "Running"
                    etag = await replace(entity, etag)

        begin = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(instances)))
        elapsed = time.perf_counter() - begin
        await rest.close()
        await table.delete_table()
    return instances / elapsed


def _baselines(connection_string: str, instances: int, concurrency: int, sizes: tuple[int, int]) -> dict[str, float]:
    return {
        client: asyncio.run(_storage_only(connection_string, instances, concurrency, sizes, client))
        for client in ("rest", "sdk")
    }


def _devhost_round(ports: Any, logs: Path, instances: int, concurrency: int, poll: float) -> dict[str, float]:
    env = {
        "AzureWebJobsStorage": ports.connection_string,
        "DEVHOST_TASK_HUB": "BenchHub",
        "DEVHOST_MAX_CONCURRENT_ACTIVITIES": "16",  # explicit: host.json's value would apply otherwise
    }
    devhost, base_url = start_devhost(logs, env, app="bench.durable_app:app")
    try:
        host = psutil.Process(devhost.process.pid)
        cpu_before = sum(host.cpu_times()[:2])
        result = asyncio.run(_run(base_url, devhost.process.pid, instances, concurrency, poll))
        result["devhost_cpu_seconds"] = round(sum(host.cpu_times()[:2]) - cpu_before, 1)
        result["row_sizes"] = asyncio.run(_row_sizes(ports.connection_string))
    finally:
        devhost.stop()
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench durable")
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--poll-ms", type=int, default=500)
    args = parser.parse_args(argv)
    instances, concurrency, rounds, poll = args.instances, args.concurrency, args.rounds, args.poll_ms / 1000
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-durable-") as tmp:
        logs = Path(tmp)
        for number in range(rounds):
            load = os.getloadavg()[0]
            azurite, ports = start_azurite(logs)  # a fresh, empty emulator per round
            try:
                if number % 2:  # alternate which runs first; the first round sizes the baseline's rows
                    sizes = results[-1]["row_sizes"]
                    storage = _baselines(ports.connection_string, instances, concurrency, sizes)
                    result = _devhost_round(ports, logs, instances, concurrency, poll)
                else:
                    result = _devhost_round(ports, logs, instances, concurrency, poll)
                    sizes = result["row_sizes"]
                    storage = _baselines(ports.connection_string, instances, concurrency, sizes)
            finally:
                azurite.stop()
            result["load_average"] = f"{load:.1f}–{os.getloadavg()[0]:.1f}"
            result["storage_only_instances_per_second"] = round(storage["rest"], 1)
            result["ratio_to_storage_only"] = round(result["instances_per_second"] / storage["rest"], 2)
            result["storage_only_sdk_instances_per_second"] = round(storage["sdk"], 1)
            result["ratio_to_storage_only_sdk"] = round(result["instances_per_second"] / storage["sdk"], 2)
            results.append(result)
            print(json.dumps(result), flush=True)
    ratios = [r["ratio_to_storage_only"] for r in results]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    for r in results:
        print(
            f"| {r['instances']} × 5-activity chain | {r['instances_per_second']} instances/s "
            f"({r['activities_per_second']} activities/s) | storage alone {r['storage_only_instances_per_second']}"
            f" instances/s | {r['ratio_to_storage_only']}× | SDK writes alone"
            f" {r['storage_only_sdk_instances_per_second']} instances/s | {r['ratio_to_storage_only_sdk']}× |"
            f" p50 {r['p50_seconds']} s | p99 {r['p99_seconds']} s | {r['peak_rss_mib']} MiB |"
            f" devhost CPU {r['devhost_cpu_seconds']} s | load {r['load_average']} |"
        )
    print(f"devhost / storage alone: min {min(ratios)}×, median {statistics.median(ratios):.2f}× (target >= 0.85×)")
    sdk = [r["ratio_to_storage_only_sdk"] for r in results]
    print(f"devhost / SDK writes alone: min {min(sdk)}×, median {statistics.median(sdk):.2f}×")
    return 0 if all(r["completed"] == instances for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
