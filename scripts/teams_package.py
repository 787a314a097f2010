"""`make teams-package`: the Teams app zip (manifest.json + two icons) for sideloading or the org catalog.

    python -m scripts.teams_package [--bot-id GUID] [--domain HOST] [--app-id GUID] [--version X.Y.Z] [--output ZIP]

Defaults come from the environment: MicrosoftAppId (the bot's app id: the bot identity's client id),
GREENLIGHT_TEAMS_DOMAIN (the Function App host name), GREENLIGHT_TEAMS_APP_ID (default: derived from the bot id so
re-builds update the same app), GREENLIGHT_TEAMS_APP_VERSION (default 1.0.0). The template is teams/manifest.json;
the icons are drawn here (a white check mark, on green for the color icon, on transparent for the outline) and
written with a minimal PNG encoder, so the repository holds no binary files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import struct
import sys
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "teams" / "manifest.json"
DEFAULT_OUTPUT = ROOT / "dist" / "greenlight-teams.zip"
_APP_NAMESPACE = uuid.UUID("6a1f3c0e-2b7d-4e59-8c14-9d0b5e7a3f21")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_VERSION = re.compile(r"^\d{1,5}\.\d{1,5}\.\d{1,5}$")
GREEN = (0x2E, 0x7D, 0x32, 0xFF)
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)


class PackageError(ValueError):
    """A package input is missing or invalid; the message names the option or variable."""


@dataclass(frozen=True)
class PackageSettings:
    bot_id: str
    domain: str
    app_id: str
    version: str

    @classmethod
    def resolve(
        cls, bot_id: str | None, domain: str | None, app_id: str | None, version: str | None
    ) -> PackageSettings:
        bot_id = (bot_id or os.environ.get("MicrosoftAppId") or "").strip()
        domain = (domain or os.environ.get("GREENLIGHT_TEAMS_DOMAIN") or "").strip().lower()
        app_id = (app_id or os.environ.get("GREENLIGHT_TEAMS_APP_ID") or "").strip()
        version = (version or os.environ.get("GREENLIGHT_TEAMS_APP_VERSION") or "1.0.0").strip()
        try:
            bot_id = str(uuid.UUID(bot_id))
        except ValueError:
            raise PackageError("--bot-id / MicrosoftAppId must be the bot's app id (a GUID)") from None
        if not _HOST.fullmatch(domain):
            raise PackageError("--domain / GREENLIGHT_TEAMS_DOMAIN must be a host name like func-x.azurewebsites.net")
        try:
            app_id = str(uuid.UUID(app_id)) if app_id else str(uuid.uuid5(_APP_NAMESPACE, bot_id))
        except ValueError:
            raise PackageError("--app-id / GREENLIGHT_TEAMS_APP_ID must be a GUID") from None
        if not _VERSION.fullmatch(version):
            raise PackageError("--version / GREENLIGHT_TEAMS_APP_VERSION must look like 1.2.3")
        return cls(bot_id, domain, app_id, version)


def build_manifest(settings: PackageSettings, template: str | None = None) -> dict:
    text = template if template is not None else TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in (
        ("{{BOT_ID}}", settings.bot_id),
        ("{{TEAMS_APP_ID}}", settings.app_id),
        ("{{VALID_DOMAIN}}", settings.domain),
    ):
        text = text.replace(placeholder, value)
    if "{{" in text:
        raise PackageError(f"teams/manifest.json has an unknown placeholder near {text[text.index('{{') :][:40]!r}")
    manifest = json.loads(text)
    manifest["version"] = settings.version
    return manifest


# ------------------------------------------------------------------ icons


def encode_png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG (filter 0 on every row)."""
    if len(rgba) != width * height * 4:
        raise ValueError("pixel buffer does not match the size")

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _distance_to_segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def check_mark_icon(size: int, background: tuple[int, int, int, int]) -> bytes:
    """A check mark (two strokes) centred on `background`, as PNG bytes."""
    points = [(0.24, 0.52), (0.42, 0.70), (0.76, 0.32)]
    stroke = size * 0.085
    pixels = bytearray()
    for y in range(size):
        for x in range(size):
            px, py = (x + 0.5), (y + 0.5)
            distance = min(
                _distance_to_segment(px, py, *(c * size for c in points[i]), *(c * size for c in points[i + 1]))
                for i in range(2)
            )
            pixels.extend(WHITE if distance <= stroke else background)
    return encode_png(size, size, bytes(pixels))


def build_package(settings: PackageSettings, output: Path) -> Path:
    manifest = build_manifest(settings)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr(manifest["icons"]["color"], check_mark_icon(192, GREEN))
        archive.writestr(manifest["icons"]["outline"], check_mark_icon(32, CLEAR))
    partial.replace(output)  # never leave a half-written zip where the admin will pick it up
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="teams_package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bot-id")
    parser.add_argument("--domain")
    parser.add_argument("--app-id")
    parser.add_argument("--version")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        settings = PackageSettings.resolve(args.bot_id, args.domain, args.app_id, args.version)
        path = build_package(settings, args.output)
    except PackageError as error:
        print(f"teams-package: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path} (Teams app {settings.app_id}, bot {settings.bot_id}, version {settings.version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
