"""The bot's end-to-end stack: Azurite + the sandbox (WinGet CDN for the catalog) + devhost serving the real
function_app + Microsoft 365 Agents Playground pointed at devhost's /api/messages, all on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from scripts.localstack import AzuriteEndpoints, SandboxEndpoints, start_devhost, start_playground
from tests.e2e.playground import ADELE, ALEX, MEGAN, TENANT_ID, Playground

APPROVERS = (MEGAN, ADELE, ALEX)  # Alex approves only requests that are not his own (the Chromium test)


@dataclass(frozen=True)
class BotStack:
    playground_url: str
    devhost_url: str
    storage_connection: str
    log_dir: Path

    def logs(self, lines: int = 60) -> str:
        out = []
        for name in ("devhost.log", "playground.log"):
            path = self.log_dir / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)


@pytest.fixture(scope="session")
def bot_stack(
    azurite: AzuriteEndpoints, sandbox: SandboxEndpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotStack]:
    root = tmp_path_factory.mktemp("bot-e2e")
    logs = root / "logs"
    env = {
        "GREENLIGHT_ENV": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string,
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_WINGET_CACHE_DIR": str(root / "winget-cache"),
        "GREENLIGHT_APPROVER_OIDS": ",".join(u.oid for u in APPROVERS),
        "GREENLIGHT_TENANT_ID": TENANT_ID,
    }
    devhost, devhost_url = start_devhost(logs, env)
    work_dir = root / "playground"
    try:
        playground, playground_url = start_playground(logs, f"{devhost_url}/api/messages", work_dir=work_dir)
    except Exception:
        devhost.stop()
        raise
    yield BotStack(playground_url, devhost_url, azurite.connection_string, logs)
    playground.stop()
    devhost.stop()


@pytest.fixture
async def playground(bot_stack: BotStack) -> AsyncIterator[Playground]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        client = Playground(bot_stack.playground_url, session)
        await client.connect()
        yield client
        await client.close()
