"""`make run`: start the whole local stack, print where to go, stop everything on Ctrl-C.

Ports come from the environment (defaults in brackets): AZURITE_BLOB_PORT [10000], AZURITE_QUEUE_PORT [10001],
AZURITE_TABLE_PORT [10002], SANDBOX_PORT [7443], DEVHOST_PORT [7071], PLAYGROUND_PORT [56150] (Alex, the requester)
and PLAYGROUND_APPROVER_PORT [56151] (Megan, an approver: a second Playground whose current user is Megan, so her
approval cards arrive in her own personal chat, in a browser tab of their own).
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
from dataclasses import dataclass
from pathlib import Path

import yaml

from scripts.localstack import (
    PLAYGROUND_CONFIG,
    ROOT,
    AzuriteEndpoints,
    ManagedProcess,
    SandboxEndpoints,
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
    "PLAYGROUND_APPROVER_PORT": 56151,
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


APPROVER_NAME = "Megan Bowen"


def approver_playground_config(config_file: Path = PLAYGROUND_CONFIG, approver: str = APPROVER_NAME) -> dict:
    """The Playground configuration as `approver` sees Teams: she is its current user (the one its web UI speaks
    as), Alex is one of the users, and her personal chat has an id of its own. Same tenant, bot and people, so the
    bot stores her 1:1 reference (this Playground's serviceUrl) when her tab installs it, and sends her approval
    cards there."""
    config = yaml.safe_load(config_file.read_text())
    others = [user for user in config["users"] if user["name"] != approver]
    (me,) = [user for user in config["users"] if user["name"] == approver]
    config["users"] = [config["currentUser"], *others]  # still five besides her: the Playground wants five
    config["currentUser"] = me
    config["personalChat"] = {"id": f"{config['personalChat']['id']}-{me['givenName'].lower()}"}
    return config


def local_app_environment(storage: str, sandbox_url: str, ca_file: Path, local: Path = LOCAL) -> dict[str, str]:
    """The settings devhost runs Greenlight with locally (see the settings table in README.md)."""
    return {
        "GREENLIGHT_APPROVER_OIDS": playground_approver_oids(),
        "GREENLIGHT_WINGET_CACHE_DIR": str(local / "winget-cache"),
        "GREENLIGHT_ENV": "local",
        "AzureWebJobsStorage": storage,
        "GREENLIGHT_STORAGE_CONNECTION": storage,
        "GREENLIGHT_SANDBOX_URL": sandbox_url,
        "GREENLIGHT_CA_BUNDLE": str(ca_file),
        "SSL_CERT_FILE": str(ca_file),
        "REQUESTS_CA_BUNDLE": str(ca_file),
    }


@dataclass(frozen=True)
class LocalStack:
    """Where each part of a started stack answers."""

    playground_url: str  # Alex Wilber, the requester
    approver_playground_url: str  # Megan Bowen, an approver
    devhost_url: str
    sandbox: SandboxEndpoints
    azurite: AzuriteEndpoints
    logs: Path

    def banner(self) -> str:
        return (
            "\nGreenlight is running locally:\n"
            f"  Megan Bowen (approver)     {self.approver_playground_url}   <- open Megan's tab first: her approval"
            " cards arrive there\n"
            f"  Alex Wilber (requester)    {self.playground_url}   <- then Alex's: `search 7zip`, Request, Submit\n"
            f"  HTTP API (devhost)         {self.devhost_url}/api/health\n"
            f"  Sandbox (Entra/Graph/CDN)  {self.sandbox.base_url}  (CA: {self.sandbox.ca_file})\n"
            f"  Azurite                    blob :{self.azurite.blob_port}  queue :{self.azurite.queue_port}"
            f"  table :{self.azurite.table_port}\n"
            f"  Logs                       {self.logs}\n"
            "Press Ctrl-C to stop everything.\n"
        )


def start_stack(local: Path, chosen: Mapping[str, int], started: list[ManagedProcess]) -> LocalStack:
    """Every service, in order, each handed to `started` as soon as it is spawned (so Ctrl-C during a slow start
    stops it too, not only the services that were already ready). The e2e story test starts the same stack."""
    logs = local / "logs"
    _, azurite = start_azurite(
        logs,
        data_dir=local / "azurite",
        ports=AzuriteEndpoints(chosen["AZURITE_BLOB_PORT"], chosen["AZURITE_QUEUE_PORT"], chosen["AZURITE_TABLE_PORT"]),
        owner=started,
    )
    _, sandbox = start_sandbox(logs, local / "sandbox", port=chosen["SANDBOX_PORT"], owner=started)
    env = local_app_environment(azurite.connection_string, sandbox.base_url, sandbox.ca_file, local)
    # A chat with someone the bot has never met (an API request's approvers, before any tab was opened) is created
    # in Alex's Playground, not at Teams' public connector.
    env["GREENLIGHT_BOT_DEFAULT_SERVICE_URL"] = f"http://127.0.0.1:{chosen['PLAYGROUND_PORT']}/_connector"
    _, devhost_url = start_devhost(logs, env, port=chosen["DEVHOST_PORT"], owner=started)
    messages = f"{devhost_url}/api/messages"
    _, playground_url = start_playground(
        logs, messages, port=chosen["PLAYGROUND_PORT"], work_dir=local / "playground", owner=started
    )
    approver_dir = local / "playground-approver"
    approver_dir.mkdir(parents=True, exist_ok=True)
    approver_config = approver_dir / "playground.yml"  # generated each start from teams/playground.yml
    approver_config.write_text(yaml.safe_dump(approver_playground_config(), sort_keys=False))
    _, approver_url = start_playground(
        logs,
        messages,
        port=chosen["PLAYGROUND_APPROVER_PORT"],
        work_dir=approver_dir,
        config_file=approver_config,
        owner=started,
        name="playground-approver",
    )
    return LocalStack(playground_url, approver_url, devhost_url, sandbox, azurite, logs)


def main() -> int:
    started: list[ManagedProcess] = []

    # Install the handlers explicitly: a parent may have left SIGINT ignored (background jobs do).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    try:
        stack = start_stack(LOCAL, chosen_ports(), started)
        print(stack.banner(), flush=True)
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
        for process in reversed(started):
            process.stop()


if __name__ == "__main__":
    raise SystemExit(main())
