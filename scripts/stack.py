"""`make run`: start the whole local stack, print where to go, stop everything on Ctrl-C.

Ports come from the environment (defaults in brackets): AZURITE_BLOB_PORT [10000], AZURITE_QUEUE_PORT [10001],
AZURITE_TABLE_PORT [10002], SANDBOX_PORT [7443], DEVHOST_PORT [7071], PLAYGROUND_PORT [56150].
State (Azurite data, sandbox keys, logs, the Playground's devTools/) lives under .local/ (or GREENLIGHT_LOCAL_DIR).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import yaml

from scripts.localstack import (
    PLAYGROUND_CONFIG,
    ROOT,
    AzuriteEndpoints,
    ManagedProcess,
    start_azurite,
    start_devhost,
    start_playground,
    start_sandbox,
)

LOCAL = Path(os.environ.get("GREENLIGHT_LOCAL_DIR", ROOT / ".local"))


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


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
        azurite, ports = start_azurite(
            logs,
            data_dir=LOCAL / "azurite",
            ports=AzuriteEndpoints(
                _port("AZURITE_BLOB_PORT", 10000),
                _port("AZURITE_QUEUE_PORT", 10001),
                _port("AZURITE_TABLE_PORT", 10002),
            ),
        )
        started.append(azurite)
        sandbox, sandbox_endpoints = start_sandbox(logs, LOCAL / "sandbox", port=_port("SANDBOX_PORT", 7443))
        started.append(sandbox)
        env = local_app_environment(ports.connection_string, sandbox_endpoints.base_url, sandbox_endpoints.ca_file)
        devhost, devhost_url = start_devhost(logs, env, port=_port("DEVHOST_PORT", 7071))
        started.append(devhost)
        playground, playground_url = start_playground(
            logs,
            f"{devhost_url}/api/messages",
            port=_port("PLAYGROUND_PORT", 56150),
            work_dir=LOCAL / "playground",
        )
        started.append(playground)
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
    except RuntimeError as error:
        print(f"could not start the stack: {error}", file=sys.stderr)
        return 1
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
