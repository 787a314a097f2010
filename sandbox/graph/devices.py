"""/users/{id}/managedDevices: a user's Intune-managed devices, enough for Greenlight's architecture choice.

Seeded so the Playground's people (teams/playground.yml) own devices in every tenant: Alex one x64 Windows
laptop, Megan an arm64 Surface plus an iPhone, Adele two x64 PCs and an arm64 one, Isaiah only a Mac. Anyone
else has none. Tests can give a user other devices with `PUT /_sandbox/devices/{user}` (a JSON list).
`$select` is honoured the way Graph does it (only the selected properties, plus `id`).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.graph.common import GraphError, collection, context

DEVICES_READ = (
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
)
DEVICES = web.AppKey("graph_devices", dict)


def _device(device_id: str, name: str, operating_system: str, architecture: str) -> dict[str, Any]:
    return {
        "id": device_id,
        "deviceName": name,
        "operatingSystem": operating_system,
        "processorArchitecture": architecture,
        "managementState": "managed",
    }


SEEDED: dict[str, list[dict[str, Any]]] = {
    "4c1e8f3a-7b2d-4e6f-9a01-2b3c4d5e6f70": [  # Alex Wilber
        _device("d1a1e8f3-0001-4000-8000-00000000a1e0", "ALEX-LAPTOP", "Windows", "x64"),
    ],
    "8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21": [  # Megan Bowen
        _device("d1a1e8f3-0002-4000-8000-00000000e6a0", "MEGAN-SURFACE", "Windows", "arm64"),
        _device("d1a1e8f3-0003-4000-8000-00000000e6a1", "Megan's iPhone", "iOS", "arm64"),
    ],
    "1b3c5d7e-9f0a-4b2c-8d4e-6f8a0b2c4d62": [  # Adele Vance
        _device("d1a1e8f3-0004-4000-8000-00000000ade0", "ADELE-DESK", "Windows", "x64"),
        _device("d1a1e8f3-0005-4000-8000-00000000ade1", "ADELE-LAB", "Windows", "x64"),
        _device("d1a1e8f3-0006-4000-8000-00000000ade2", "ADELE-TABLET", "Windows", "arm64"),
    ],
    "5e7f9a1b-3c5d-4e6f-a8b0-c2d4e6f8a093": [  # Isaiah Langer
        _device("d1a1e8f3-0007-4000-8000-00000000154a", "ISAIAH-MBP", "macOS", "arm64"),
    ],
}


async def list_managed_devices(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*DEVICES_READ)
    user = request.match_info["user"].lower()
    devices = request.app[DEVICES].get(user, [])
    selected = [s.strip() for s in request.query.get("$select", "").split(",") if s.strip()]
    if selected:
        devices = [{k: v for k, v in d.items() if k in selected or k == "id"} for d in devices]
    return collection(request, devices, f"{ctx.base}/$metadata#users('{user}')/managedDevices")


async def set_devices(request: web.Request) -> web.Response:
    try:
        devices = json.loads(await request.read())
    except ValueError:
        raise GraphError(400, "BadRequest", "expected a JSON list of devices") from None
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        raise GraphError(400, "BadRequest", "expected a JSON list of devices")
    request.app[DEVICES][request.match_info["user"].lower()] = devices
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """The registration hook the sandbox's Graph app calls."""
    app[DEVICES] = {oid: [dict(d) for d in devices] for oid, devices in SEEDED.items()}
    app.router.add_get("/{version:v1\\.0|beta}/users/{user}/managedDevices", list_managed_devices)
    app.router.add_put("/_sandbox/devices/{user}", set_devices)
