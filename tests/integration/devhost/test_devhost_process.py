"""devhost as a process (`python -m devhost --app ...`), driven over HTTP like `make run` and Azure clients do:
the public webhooks of `create_check_status_response`, and crash recovery after SIGKILL."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from scripts.localstack import ManagedProcess, start_devhost

APP = "tests.integration.devhost.sample_app:myApp"


def _env(azurite, hub: str, **extra: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": azurite.connection_string, "DEVHOST_TASK_HUB": hub, **extra}


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def devhost_url(azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("devhost-process")
    process, base_url = start_devhost(logs, _env(azurite, f"Proc{uuid.uuid4().hex[:8]}"), app=APP)
    yield base_url
    process.stop()


def test_check_status_webhooks_follow_an_instance_from_202_to_200(devhost_url: str):
    with httpx.Client(timeout=10) as http:
        started = http.post(f"{devhost_url}/api/orchestrators/human_interaction")
        assert started.status_code == 202
        links = started.json()
        assert started.headers["Location"] == links["statusQueryGetUri"]
        assert links["statusQueryGetUri"].startswith(
            f"{devhost_url}/runtime/webhooks/durabletask/instances/{links['id']}"
        )

        def waiting_for_approval() -> bool:
            body = http.get(links["statusQueryGetUri"] + "&showHistory=true").json()
            return "TimerCreated" in [e["EventType"] for e in body.get("historyEvents", [])]

        _wait(waiting_for_approval, 10, "the approval deadline timer")
        running = http.get(links["statusQueryGetUri"])
        assert running.status_code == 202 and "Location" in running.headers

        # curl-style event: a JSON object body arrives in the orchestrator as an object.
        raised = http.post(links["sendEventPostUri"].replace("{eventName}", "ApprovalEvent"), json={"by": "dave"})
        assert raised.status_code == 202
        _wait(lambda: http.get(links["statusQueryGetUri"]).status_code == 200, 10, "completion")
        done = http.get(links["statusQueryGetUri"]).json()
        assert (done["runtimeStatus"], done["output"]) == ("Completed", "approved by dave")

        # The client binding inside a client function reads the same instance with its history.
        seen = http.get(f"{devhost_url}/api/status/{links['id']}").json()
        assert [e["EventType"] for e in seen["historyEvents"]] == [
            "ExecutionStarted", "TaskCompleted", "TimerCreated", "EventRaised", "TaskCompleted", "ExecutionCompleted",
        ]  # fmt: skip

        late = http.post(links["sendEventPostUri"].replace("{eventName}", "ApprovalEvent"), json={"by": "eve"})
        assert late.status_code == 410


def test_management_api_rejects_bad_input_with_problem_json(devhost_url: str):
    with httpx.Client(timeout=10) as http:
        missing = http.get(f"{devhost_url}/runtime/webhooks/durabletask/instances/no-such-instance")
        assert missing.status_code == 404
        bad_body = http.post(
            f"{devhost_url}/runtime/webhooks/durabletask/orchestrators/my_orchestrator",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert bad_body.status_code == 400
        assert bad_body.headers["Content-Type"].startswith("application/problem+json")
        assert bad_body.json()["detail"] == "The request body must be JSON"
        unknown = http.post(f"{devhost_url}/durabletask/orchestrators/nope")
        assert unknown.status_code == 400 and "nope" in unknown.json()["ExceptionMessage"]
        bad_filter = http.get(f"{devhost_url}/durabletask/instances/?runtimeStatus=Sleeping")
        assert bad_filter.status_code == 400


def _runs(log: Path) -> list[tuple[str, str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split()) for line in log.read_text().splitlines() if line.strip()]  # type: ignore[misc]


def _unfinished(log: Path) -> set[tuple[str, str]]:
    runs = Counter()
    for phase, instance, step in _runs(log):
        runs[(instance, step)] += 1 if phase == "start" else -1
    return {key for key, open_runs in runs.items() if open_runs > 0}


def test_sigkill_mid_activity_and_mid_orchestration_then_restart_completes_every_instance(azurite, tmp_path: Path):
    env = _env(
        azurite,
        f"Crash{uuid.uuid4().hex[:8]}",
        SAMPLE_ACTIVITY_LOG_DIR=str(tmp_path),
        SAMPLE_SLOW_STEP_SECONDS="0.4",
        DEVHOST_MAX_CONCURRENT_ACTIVITIES="2",
    )
    log = tmp_path / "runs.log"
    steps = 4
    processes: list[ManagedProcess] = []

    def launch() -> str:
        process, base_url = start_devhost(tmp_path / f"logs{len(processes)}", env, app=APP)
        processes.append(process)
        return base_url

    try:
        base_url = launch()
        with httpx.Client(timeout=10) as http:
            ids = [
                http.post(f"{base_url}/api/orchestrators/slow_chain", json={"steps": steps}).json()["id"]
                for _ in range(4)
            ]
        # Crash 1: while activities are running (started, not finished).
        _wait(lambda: len(_runs(log)) >= 3 and _unfinished(log), 20, "an activity in flight")
        processes[-1].kill()
        interrupted = _unfinished(log)
        assert interrupted

        # Crash 2: mid-orchestration, after the restarted host has made progress but before it is done.
        ends_before = sum(1 for phase, _, _ in _runs(log) if phase == "end")
        base_url = launch()
        _wait(lambda: sum(1 for p, _, _ in _runs(log) if p == "end") >= ends_before + 3, 20, "progress after restart")
        processes[-1].kill()

        base_url = launch()
        with httpx.Client(timeout=10) as http:
            status_url = f"{base_url}/runtime/webhooks/durabletask/instances"

            def all_done() -> bool:
                return all(http.get(f"{status_url}/{i}").json()["runtimeStatus"] == "Completed" for i in ids)

            _wait(all_done, 40, "every instance to complete")
            for instance_id in ids:
                body = http.get(f"{status_url}/{instance_id}?showHistory=true").json()
                assert body["output"] == {"total": 100, "instance": instance_id}
                completed = [e for e in body["historyEvents"] if e["EventType"] == "TaskCompleted"]
                assert len(completed) == steps  # nothing completed twice
    finally:
        for process in processes:
            process.stop()

    starts = Counter((instance, step) for phase, instance, step in _runs(log) if phase == "start")
    assert {(i, str(s)) for i in ids for s in range(steps)} <= set(starts)  # every step ran
    assert all(starts[key] >= 2 for key in interrupted)  # what was cut off ran again: at-least-once
