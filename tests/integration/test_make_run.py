"""`make run`'s supervisor: the whole stack comes up, answers, and Ctrl-C leaves no process behind."""

import os
import signal
import subprocess
import sys
import time

import httpx
import psutil

from scripts.localstack import ROOT, free_port


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
    ports = {name: free_port() for name in ("AZURITE_BLOB_PORT", "AZURITE_QUEUE_PORT", "AZURITE_TABLE_PORT")}
    ports |= {"SANDBOX_PORT": free_port(), "DEVHOST_PORT": free_port(), "PLAYGROUND_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "GREENLIGHT_LOCAL_DIR": str(tmp_path / "local")}
    log_path = tmp_path / "stack.out"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "scripts.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_banner(stack, log_path)
        children = psutil.Process(stack.pid).children(recursive=True)
        assert len(children) >= 4, "expected Azurite, sandbox, devhost and the Playground"

        health = httpx.get(f"http://127.0.0.1:{ports['DEVHOST_PORT']}/api/health", timeout=10)
        ping = httpx.get(f"http://127.0.0.1:{ports['PLAYGROUND_PORT']}/_debug/ping", timeout=10)
        sandbox = httpx.get(
            f"https://127.0.0.1:{ports['SANDBOX_PORT']}/health",
            verify=str(tmp_path / "local" / "sandbox" / "tls" / "ca.pem"),
            timeout=10,
        )
        assert health.status_code in (200, 503)  # 503 names a component that is down; both are answers
        assert ping.text == "pong"
        assert sandbox.status_code == 200

        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=15)
        assert alive == [], f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    finally:
        if stack.poll() is None:
            stack.kill()
