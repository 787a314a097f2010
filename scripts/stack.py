"""`make run`: start the whole local stack, print where to go, stop everything on Ctrl-C.

Ports come from the environment (defaults in brackets): AZURITE_BLOB_PORT [10000], AZURITE_QUEUE_PORT [10001],
AZURITE_TABLE_PORT [10002], SANDBOX_PORT [7443], DEVHOST_PORT [7071], PLAYGROUND_PORT [56150].
State (Azurite data, sandbox keys, logs, the Playground's devTools/) lives under .local/ (or GREENLIGHT_LOCAL_DIR).
A port that is taken (or not a number) stops the start before anything runs, in one line naming the variable.
Each run's logs start fresh.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from scripts.localstack import (
    PLAYGROUND_CONFIG,
    ROOT,
    AzuriteEndpoints,
    ManagedProcess,
    free_port,
    port_is_free,
    start_azurite,
    start_devhost,
    start_playground,
    start_sandbox,
)

LOCAL = Path(os.environ.get("GREENLIGHT_LOCAL_DIR", ROOT / ".local"))


PORTS = {  # variable -> default
    "AZURITE_BLOB_PORT": 10000,
    "AZURITE_QUEUE_PORT": 10001,
    "AZURITE_TABLE_PORT": 10002,
    "SANDBOX_PORT": 7443,
    "DEVHOST_PORT": 7071,
    "PLAYGROUND_PORT": 56150,
}


class StackError(Exception):
    """A reason the stack cannot start, said in one line (no traceback)."""


def chosen_ports(env: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Every port the stack will listen on, checked before anything starts: a bad value or a busy port is one
    line naming the port and the variable that moves it."""
    ports: dict[str, int] = {}
    for name, default in PORTS.items():
        text = env.get(name, "").strip() or str(default)
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
            raise StackError(f"{name}={text!r} is not a port number (1-65535)")
        ports[name] = int(text)
    for name, port in ports.items():
        if not port_is_free(port):
            raise StackError(f"port {port} is already in use; set {name} to a free port (e.g. {name}={free_port()})")
    return ports


def playground_approver_oids(config_file: Path = PLAYGROUND_CONFIG) -> str:
    """Megan and Adele (the first two users besides Alex) approve, so a person chatting as Alex sees the flow."""
    config = yaml.safe_load(config_file.read_text())
    return ",".join(user["aadObjectId"] for user in config["users"][:2])


def local_app_environment(storage: str, sandbox_url: str, ca_file: Path) -> dict[str, str]:
    """The settings devhost runs Greenlight with locally (see the settings table in README.md)."""
    return {
        "GREENLIGHT_APPROVER_OIDS": playground_approver_oids(),
        "GREENLIGHT_WINGET_CACHE_DIR": str(LOCAL / "winget-cache"),
        "GREENLIGHT_ENV": "local",
        "AzureWebJobsStorage": storage,
        "GREENLIGHT_STORAGE_CONNECTION": storage,
        "GREENLIGHT_SANDBOX_URL": sandbox_url,
        "GREENLIGHT_CA_BUNDLE": str(ca_file),
        "SSL_CERT_FILE": str(ca_file),
        "REQUESTS_CA_BUNDLE": str(ca_file),
    }


def main() -> int:
    logs = LOCAL / "logs"
    started: list[ManagedProcess] = []

    def stop_all(*_: object) -> None:
        for process in reversed(started):
            process.stop()

    # Install the handlers explicitly: a parent may have left SIGINT ignored (background jobs do).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    try:
        chosen = chosen_ports()
        # Each start hands its process to `started` as soon as it is spawned, so Ctrl-C during a slow start stops
        # it too (the finally below), not only the services that were already ready.
        _, ports = start_azurite(
            logs,
            data_dir=LOCAL / "azurite",
            ports=AzuriteEndpoints(
                chosen["AZURITE_BLOB_PORT"], chosen["AZURITE_QUEUE_PORT"], chosen["AZURITE_TABLE_PORT"]
            ),
            owner=started,
        )
        _, sandbox_endpoints = start_sandbox(logs, LOCAL / "sandbox", port=chosen["SANDBOX_PORT"], owner=started)
        env = local_app_environment(ports.connection_string, sandbox_endpoints.base_url, sandbox_endpoints.ca_file)
        _, devhost_url = start_devhost(logs, env, port=chosen["DEVHOST_PORT"], owner=started)
        _, playground_url = start_playground(
            logs,
            f"{devhost_url}/api/messages",
            port=chosen["PLAYGROUND_PORT"],
            work_dir=LOCAL / "playground",
            owner=started,
        )
        print(
            "\nGreenlight is running locally:\n"
            f"  Teams (Agents Playground)  {playground_url}   <- open this and chat with the bot\n"
            f"  HTTP API (devhost)         {devhost_url}/api/health\n"
            f"  Sandbox (Entra/Graph/CDN)  {sandbox_endpoints.base_url}  (CA: {sandbox_endpoints.ca_file})\n"
            f"  Azurite                    blob :{ports.blob_port}  queue :{ports.queue_port}"
            f"  table :{ports.table_port}\n"
            f"  Logs                       {logs}\n"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while all(p.process.poll() is None for p in started):
            time.sleep(0.5)
        dead = next(p for p in started if p.process.poll() is not None)
        print(f"{dead.name} stopped unexpectedly:\n{dead.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except (StackError, RuntimeError) as error:
        print(f"could not start the stack: {error}", file=sys.stderr)
        return 1
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
