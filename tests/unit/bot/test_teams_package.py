"""`make teams-package`: a zip Teams accepts — manifest with the configured ids, two icons of the required sizes."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from scripts.teams_package import PackageError, PackageSettings, build_package, main

BOT = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
DOMAIN = "func-greenlight-prod-x1y2.azurewebsites.net"


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, width = 8, b"", 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", body[:10])
            assert (depth, color_type) == (8, 6)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 4 + 1
    pixels = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        assert row[0] == 0
        pixels += [tuple(row[1 + i : 5 + i]) for i in range(0, width * 4, 4)]
    return width, height, pixels


def test_package_has_manifest_with_configured_ids_and_valid_icons(tmp_path: Path) -> None:
    settings = PackageSettings.resolve(BOT, DOMAIN, None, "1.4.2")
    path = build_package(settings, tmp_path / "app.zip")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = decode_png(archive.read("color.png"))
        outline = decode_png(archive.read("outline.png"))
    assert manifest["bots"][0]["botId"] == BOT and manifest["webApplicationInfo"]["id"] == BOT
    assert manifest["id"] == settings.app_id and manifest["version"] == "1.4.2"
    assert manifest["validDomains"] == [DOMAIN]
    assert "{{" not in json.dumps(manifest)
    assert [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]] == [
        "search",
        "request",
        "status",
        "pending",
        "help",
    ]
    assert color[:2] == (192, 192) and outline[:2] == (32, 32)
    # Teams: the outline icon is white on transparent only; the color icon is opaque
    assert set(outline[2]) <= {(255, 255, 255, 255), (0, 0, 0, 0)} and (255, 255, 255, 255) in outline[2]
    assert all(p[3] == 255 for p in color[2]) and (0x2E, 0x7D, 0x32, 0xFF) in color[2]


def test_the_teams_app_id_is_stable_for_a_bot() -> None:
    first = PackageSettings.resolve(BOT, DOMAIN, None, None)
    assert PackageSettings.resolve(BOT, DOMAIN, None, None).app_id == first.app_id != BOT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, DOMAIN, None, None), "MicrosoftAppId"),
        (("not-a-guid", DOMAIN, None, None), "MicrosoftAppId"),
        ((BOT, "https://x.example/", None, None), "GREENLIGHT_TEAMS_DOMAIN"),
        ((BOT, DOMAIN, "nope", None), "GREENLIGHT_TEAMS_APP_ID"),
        ((BOT, DOMAIN, None, "1.0"), "GREENLIGHT_TEAMS_APP_VERSION"),
    ],
)
def test_bad_inputs_are_named(monkeypatch: pytest.MonkeyPatch, args, message: str) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    with pytest.raises(PackageError, match=message):
        PackageSettings.resolve(*args)


def test_cli_reports_errors_without_a_traceback(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    assert main(["--domain", DOMAIN, "--output", str(tmp_path / "x.zip")]) == 2
    assert "MicrosoftAppId" in capsys.readouterr().err and not (tmp_path / "x.zip").exists()
    assert main(["--bot-id", BOT, "--domain", DOMAIN, "--output", str(tmp_path / "x.zip")]) == 0
    assert zipfile.is_zipfile(tmp_path / "x.zip")
