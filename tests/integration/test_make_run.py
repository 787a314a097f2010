"""`make run`'s supervisor: the whole stack comes up, answers, and Ctrl-C leaves no process behind."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil

from scripts.localstack import ROOT, free_port, port_is_free, start_azurite

PORT_VARIABLES = (
    "AZURITE_BLOB_PORT",
    "AZURITE_QUEUE_PORT",
    "AZURITE_TABLE_PORT",
    "SANDBOX_PORT",
    "DEVHOST_PORT",
    "PLAYGROUND_PORT",
    "PLAYGROUND_APPROVER_PORT",
)


def _stack_env(tmp_path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in PORT_VARIABLES}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "GREENLIGHT_LOCAL_DIR": str(tmp_path / "local")}
    return env, ports


def _wait_for_banner(process: subprocess.Popen, log_path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if "Press Ctrl-C" in text:
            return text
        if process.poll() is not None:
            raise AssertionError(f"the stack exited early with {process.returncode}:\n{text}")
        time.sleep(0.3)
    raise AssertionError(f"no ready banner within {timeout}s:\n{log_path.read_text(errors='replace')}")


def test_stack_starts_every_service_and_ctrl_c_stops_them_all(tmp_path):
    env, ports = _stack_env(tmp_path)
    log_path = tmp_path / "stack.out"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "scripts.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_banner(stack, log_path)
        children = psutil.Process(stack.pid).children(recursive=True)
        assert len(children) >= 5, "expected Azurite, sandbox, devhost and two Playgrounds"

        health = httpx.get(f"http://127.0.0.1:{ports['DEVHOST_PORT']}/api/health", timeout=10)
        ping = httpx.get(f"http://127.0.0.1:{ports['PLAYGROUND_PORT']}/_debug/ping", timeout=10)
        approver = httpx.get(f"http://127.0.0.1:{ports['PLAYGROUND_APPROVER_PORT']}/_internal/v1/config", timeout=10)
        sandbox = httpx.get(
            f"https://127.0.0.1:{ports['SANDBOX_PORT']}/health",
            verify=str(tmp_path / "local" / "sandbox" / "tls" / "ca.pem"),
            timeout=10,
        )
        assert health.status_code in (200, 503)  # 503 names a component that is down; both are answers
        assert ping.text == "pong"
        assert approver.json()["config"]["currentUser"]["name"] == "Megan Bowen"  # her own Playground
        assert sandbox.status_code == 200

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=15)
        assert alive == [], f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    finally:
        if stack.poll() is None:
            stack.kill()


def test_a_busy_port_is_one_line_naming_the_port_and_its_variable(tmp_path):
    env, ports = _stack_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["SANDBOX_PORT"]))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "scripts.stack"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {ports['SANDBOX_PORT']} is already in use" in lines[0] and "SANDBOX_PORT" in lines[0]
    assert not (tmp_path / "local" / "logs").exists()  # refused before anything started


def test_each_start_writes_a_fresh_log(tmp_path):
    """make run's logs hold the current run only: an old traceback at the top misleads whoever reads them."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "azurite.log").write_text("Traceback (most recent call last): an old run\n")
    process, _ = start_azurite(logs)
    process.stop()
    assert "an old run" not in (logs / "azurite.log").read_text()


def test_ctrl_c_while_starting_stops_the_service_being_started(tmp_path):
    """After devhost answers and before the banner, the Playground is spawned but not yet ready: Ctrl-C then must
    stop it too (it used to be re-parented to init, holding its port)."""
    env, ports = _stack_env(tmp_path)
    log_path = tmp_path / "stack.out"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "scripts.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    seen: dict[int, psutil.Process] = {}
    try:
        playground = None
        deadline = time.monotonic() + 120
        while playground is None and time.monotonic() < deadline:
            assert stack.poll() is None, log_path.read_text(errors="replace")
            for child in psutil.Process(stack.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
                try:
                    if any("m365agentsplayground" in part for part in child.cmdline()):
                        playground = child
                except psutil.NoSuchProcess:
                    pass
            time.sleep(0.02)
        assert playground is not None, "the Playground was never spawned"
        assert "Press Ctrl-C" not in log_path.read_text(errors="replace"), "started too fast to interrupt"

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(list(seen.values()), timeout=15)
        assert alive == [], f"still running after Ctrl-C: {[p.pid for p in alive]}"
        assert all(port_is_free(ports[n]) for n in ("PLAYGROUND_PORT", "PLAYGROUND_APPROVER_PORT", "DEVHOST_PORT"))
    finally:
        if stack.poll() is None:
            stack.kill()
