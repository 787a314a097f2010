"""Build the zip that Flex Consumption deploys: `make package [DURABLE_BACKEND=storage|dts]` → dist/greenlight-app.zip.

An allowlist, not a blocklist: the entry point, host.json, requirements.txt (Flex builds the dependencies remotely)
and the four Python packages the app runs. Tests, the sandbox, devhost, docs, node_modules and virtual environments
can therefore never ship. host.json is written for the durable backend the Bicep deployed (its `durableBackend`
output): `storage` keeps the repository's host.json; `dts` switches the storage provider to the Durable Task
Scheduler, whose task hub main.bicep creates with the same hub name.

Deploy it with `az functionapp deployment source config-zip -g <rg> -n <app> --src dist/greenlight-app.zip
--build-remote true` (docs/DEPLOY.md §5). Deterministic: same sources, same zip bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FILES = ("function_app.py", "requirements.txt")
PACKAGES = ("greenlight", "functions", "bot", "orchestrations")
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
DTS_PROVIDER = {"type": "azureManaged", "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def host_json(backend: str, source: dict[str, Any]) -> dict[str, Any]:
    """The repository's host.json, with the storage provider of `backend`."""
    if backend == "storage":
        return source
    if backend != "dts":
        raise ValueError(f"unknown durable backend {backend!r}: storage or dts")
    result = json.loads(json.dumps(source))
    durable = result["extensions"]["durableTask"]
    # partitionCount / maxQueuePollingInterval tune Azure Storage queues; the scheduler has none.
    durable["storageProvider"] = dict(DTS_PROVIDER)
    return result


def package_files(root: Path = REPO_ROOT) -> list[tuple[str, Path]]:
    """(name in the zip, file) for everything shipped but host.json, sorted."""
    entries = [(name, root / name) for name in FILES]
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and path.suffix not in SKIPPED_SUFFIXES:
                entries.append((relative.as_posix(), path))
    return sorted(entries)


def build(out: Path, backend: str, root: Path = REPO_ROOT) -> list[str]:
    """Write the zip; returns its member names."""
    host = host_json(backend, json.loads((root / "host.json").read_text(encoding="utf-8")))
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        members = [("host.json", json.dumps(host, indent=2).encode() + b"\n")]
        members += [(name, path.read_bytes()) for name, path in package_files(root)]
        for name, data in sorted(members):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            names.append(name)
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durable-backend", choices=("storage", "dts"), default="storage")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist" / "greenlight-app.zip")
    args = parser.parse_args(argv)
    names = build(args.out, args.durable_backend)
    print(f"{args.out}: {len(names)} files, host.json for durable backend '{args.durable_backend}'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
