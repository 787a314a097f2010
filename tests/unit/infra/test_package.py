"""`make package` (infra/scripts/package_app.py), .funcignore and local.settings.json.example: what ships to Azure
and what a Core Tools user starts from."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.unit.infra.conftest import REPO_ROOT, SCRIPTS_DIR

NEVER_SHIPPED = ("tests/", "sandbox/", "devhost/", "node_modules/", ".venv/", ".local/", "bench/", "docs/", "infra/")


def build(tmp_path: Path, backend: str) -> tuple[list[str], dict]:
    out = tmp_path / f"app-{backend}.zip"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS_DIR / "package_app.py"), "--durable-backend", backend, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        return archive.namelist(), json.loads(archive.read("host.json"))


@pytest.fixture(scope="module")
def storage_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict]:
    return build(tmp_path_factory.mktemp("package"), "storage")


def test_package_holds_the_app_and_nothing_else(storage_package: tuple[list[str], dict]) -> None:
    names, _ = storage_package
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    for package in ("greenlight", "functions", "bot", "orchestrations"):
        assert f"{package}/__init__.py" in names
    assert "greenlight/winget/trust/microsoft-root-ca-2011.pem" in names  # data files the code reads ship too
    leaked = [n for n in names if n.startswith(NEVER_SHIPPED) or "__pycache__" in n or n.endswith(".pyc")]
    assert leaked == []
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level == {"function_app.py", "host.json", "requirements.txt", "greenlight", "functions", "bot",
                         "orchestrations"}  # fmt: skip


def test_every_python_module_of_the_app_is_shipped(storage_package: tuple[list[str], dict]) -> None:
    names = set(storage_package[0])
    for package in ("greenlight", "functions", "bot", "orchestrations"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            if "__pycache__" not in path.parts:
                assert path.relative_to(REPO_ROOT).as_posix() in names


def test_storage_package_keeps_the_repository_host_json(storage_package: tuple[list[str], dict]) -> None:
    assert storage_package[1] == json.loads((REPO_ROOT / "host.json").read_text())


def test_dts_package_switches_the_storage_provider_and_keeps_the_hub(tmp_path: Path) -> None:
    _, host = build(tmp_path, "dts")
    durable = host["extensions"]["durableTask"]
    assert durable["storageProvider"] == {
        "type": "azureManaged",
        "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    }
    # main.bicep's scheduler creates the task hub under this name (modules/dts.bicep taskHubName default).
    assert durable["hubName"] == "GreenlightHub"
    assert "taskHubName string = 'GreenlightHub'" in (REPO_ROOT / "infra/bicep/modules/dts.bicep").read_text()
    assert host["extensionBundle"] == json.loads((REPO_ROOT / "host.json").read_text())["extensionBundle"]


def test_package_is_reproducible(tmp_path: Path) -> None:
    first = tmp_path / "a.zip"
    second = tmp_path / "b.zip"
    for out in (first, second):
        subprocess.run([sys.executable, str(SCRIPTS_DIR / "package_app.py"), "--out", str(out)], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
    assert first.read_bytes() == second.read_bytes()


def test_funcignore_leaves_out_what_make_package_leaves_out() -> None:
    patterns = {
        line.strip() for line in (REPO_ROOT / ".funcignore").read_text().splitlines() if not line.startswith("#")
    }
    for folder in NEVER_SHIPPED:
        assert folder.rstrip("/") in patterns
    assert {"local.settings.json", "__pycache__", "requirements-dev.txt"} <= patterns


def test_local_settings_example_is_local_and_secret_free() -> None:
    values = json.loads((REPO_ROOT / "local.settings.json.example").read_text())["Values"]
    assert values["GREENLIGHT_ENV"] == "local"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"  # Core Tools needs it locally (Flex rejects it in Azure)
    assert not any("SECRET" in name or "PASSWORD" in name for name in values)
    assert "local.settings.json" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_workflow_is_an_example_github_does_not_run() -> None:
    workflows = REPO_ROOT / ".github" / "workflows"
    assert (workflows / "deploy.yml.example").is_file()
    assert not list(workflows.glob("*.yml")) + list(workflows.glob("*.yaml"))
    text = (workflows / "deploy.yml.example").read_text()
    assert "id-token: write" in text and "make package" in text and "durableBackend" in text
