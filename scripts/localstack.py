"""Start the local stack's processes, wait until each answers, and stop them cleanly.

Used by `make run` (scripts/stack.py) and by the test fixtures, so both start things the same way.
Every process gets its own process group, so stopping it stops its children too (no orphans). A process belongs
to its supervisor from the moment it is spawned: `owner` (the supervisor's list) gets it before the wait for
readiness, and an interruption during that wait (Ctrl-C, SIGTERM) stops it before the interruption goes on.
Each start writes a fresh log: a log holds one run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_BIN = ROOT / "node_modules" / ".bin"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something could listen on `port` now (a listener, even one that has not answered yet, holds it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen
    log_path: Path
    info: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the whole group at once: what a crash looks like."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_process(
    name: str,
    argv: list[str],
    log_path: Path,
    ready: Callable[[], bool],
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 60.0,
    owner: list[ManagedProcess] | None = None,
) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "wb")
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    managed = ManagedProcess(name, process, log_path)
    try:
        if owner is not None:
            owner.append(managed)
        _wait_until_ready(managed, ready, timeout)
    except BaseException:  # KeyboardInterrupt and SystemExit (SIGTERM) too: never leave it running unowned
        managed.stop()
        raise
    return managed


def _wait_until_ready(managed: ManagedProcess, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if managed.process.poll() is not None:
            raise RuntimeError(f"{managed.name} exited with {managed.process.returncode}:\n{managed.log_tail()}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{managed.name} did not become ready within {timeout:.0f}s:\n{managed.log_tail()}")


def http_ready(
    url: str, ca_file: Path | None = None, accept: Callable[[int], bool] | None = None
) -> Callable[[], bool]:
    def check() -> bool:
        context = ssl.create_default_context(cafile=str(ca_file)) if ca_file and ca_file.exists() else None
        if url.startswith("https") and context is None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 - local URL
                return accept(response.status) if accept else True
        except urllib.error.HTTPError as error:
            return accept(error.code) if accept else True
        except (OSError, ssl.SSLError):
            return False

    return check


# ---------------------------------------------------------------- Azurite


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        host = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={host}:{self.blob_port}/{AZURITE_ACCOUNT};"
            f"QueueEndpoint={host}:{self.queue_port}/{AZURITE_ACCOUNT};"
            f"TableEndpoint={host}:{self.table_port}/{AZURITE_ACCOUNT};"
        )


def start_azurite(
    log_dir: Path,
    data_dir: Path | None = None,
    ports: AzuriteEndpoints | None = None,
    owner: list[ManagedProcess] | None = None,
) -> tuple[ManagedProcess, AzuriteEndpoints]:
    """Azurite on the given ports (free ones by default); in memory unless `data_dir` is given."""
    ports = ports or AzuriteEndpoints(free_port(), free_port(), free_port())
    argv = [
        str(NODE_BIN / "azurite"),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableProductStyleUrl",
        "--disableTelemetry",  # no network here; its exporter otherwise keeps node alive after shutdown
        "--blobHost", "127.0.0.1", "--blobPort", str(ports.blob_port),
        "--queueHost", "127.0.0.1", "--queuePort", str(ports.queue_port),
        "--tableHost", "127.0.0.1", "--tablePort", str(ports.table_port),
    ]  # fmt: skip
    if data_dir is None:
        argv.append("--inMemoryPersistence")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--location", str(data_dir)]
    # Any HTTP answer (Azurite says 400/403 to an unauthenticated GET) means it is listening.
    ready = http_ready(f"http://127.0.0.1:{ports.table_port}/{AZURITE_ACCOUNT}/Tables")
    process = start_process("azurite", argv, log_dir / "azurite.log", ready, owner=owner)
    process.info["connection_string"] = ports.connection_string
    return process, ports


# ---------------------------------------------------------------- sandbox


@dataclass(frozen=True)
class SandboxEndpoints:
    base_url: str
    ca_file: Path
    state_dir: Path

    @property
    def entra_url(self) -> str:
        return f"{self.base_url}/entra"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/graph"

    @property
    def winget_url(self) -> str:
        return f"{self.base_url}/winget"


def start_sandbox(
    log_dir: Path,
    state_dir: Path,
    port: int | None = None,
    options: dict[str, str] | None = None,
    owner: list[ManagedProcess] | None = None,
) -> tuple[ManagedProcess, SandboxEndpoints]:
    port = port or free_port()
    argv = [sys.executable, "-m", "sandbox", "--port", str(port), "--state-dir", str(state_dir)]
    for key, value in (options or {}).items():
        argv += ["--option", f"{key}={value}"]
    endpoints = SandboxEndpoints(f"https://127.0.0.1:{port}", state_dir / "tls" / "ca.pem", state_dir)
    ready = http_ready(f"{endpoints.base_url}/health", ca_file=endpoints.ca_file, accept=lambda s: s == 200)
    process = start_process("sandbox", argv, log_dir / "sandbox.log", ready, owner=owner)
    return process, endpoints


# ---------------------------------------------------------------- devhost


def start_devhost(
    log_dir: Path,
    env: dict[str, str],
    port: int | None = None,
    app: str = "function_app:app",
    owner: list[ManagedProcess] | None = None,
) -> tuple[ManagedProcess, str]:
    port = port or free_port()
    argv = [sys.executable, "-m", "devhost", "--app", app, "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    ready = http_ready(f"{base_url}/admin/host/ping", accept=lambda s: s == 200)
    process = start_process("devhost", argv, log_dir / "devhost.log", ready, env=env, owner=owner)
    return process, base_url


# ---------------------------------------------------------------- Agents Playground


PLAYGROUND_CONFIG = ROOT / "teams" / "playground.yml"


def start_playground(
    log_dir: Path,
    bot_endpoint: str,
    port: int | None = None,
    work_dir: Path | None = None,
    config_file: Path = PLAYGROUND_CONFIG,
    owner: list[ManagedProcess] | None = None,
    name: str = "playground",
) -> tuple[ManagedProcess, str]:
    """The Teams-like Agents Playground pointed at `bot_endpoint`, without opening a browser.

    Its users, tenant and chats come from `config_file`, which it reads as `.m365agentsplayground.yml` in its
    working directory. `name` names the process and its log (`<name>.log`), so two Playgrounds can share a log
    directory.
    """
    port = port or free_port()
    work_dir = work_dir or log_dir / "playground"
    work_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_file, work_dir / ".m365agentsplayground.yml")
    cli = ROOT / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
    argv = ["node", str(cli), "-p", str(port), "-e", bot_endpoint, "-c", "msteams", "--dt"]
    env = {
        "TEAMSAPPTESTER_BROWSER": "none",
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(work_dir / "devTools" / "m365agentsplayground.log"),
    }
    base_url = f"http://127.0.0.1:{port}"
    ready = http_ready(f"{base_url}/_debug/ping", accept=lambda s: s == 200)
    process = start_process(name, argv, log_dir / f"{name}.log", ready, env=env, cwd=work_dir, owner=owner)
    return process, base_url
