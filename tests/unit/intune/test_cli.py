"""`python -m greenlight intune pack|unpack` as a subprocess, like an admin would run it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BLOB = "IntuneWinPackage/Contents/IntunePackage.intunewin"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenlight", "intune", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_pack_then_unpack_round_trips_a_setup_folder(tmp_path: Path) -> None:
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "tool.exe").write_bytes(b"MZ" + bytes(50_000))
    packed = _run("pack", "-c", str(setup), "-s", "tool.exe", "-o", str(tmp_path / "out"))
    assert packed.returncode == 0, packed.stderr
    package = tmp_path / "out" / "tool.intunewin"
    with zipfile.ZipFile(package) as outer:
        assert outer.namelist() == [
            "IntuneWinPackage/Contents/IntunePackage.intunewin",
            "IntuneWinPackage/Metadata/Detection.xml",
        ]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in outer.infolist())
        assert outer.testzip() is None  # CRC of the patched blob entry is right

    unpacked = _run("unpack", str(package), "-o", str(tmp_path / "x"), "--extract")
    assert unpacked.returncode == 0, unpacked.stderr
    assert (tmp_path / "x" / "tool.exe").read_bytes() == (setup / "tool.exe").read_bytes()


def test_unpack_of_a_tampered_package_exits_3_naming_the_mac(tmp_path: Path) -> None:
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "a.exe").write_bytes(b"x" * 10_000)
    assert _run("pack", "-c", str(setup), "-s", "a.exe", "-o", str(tmp_path)).returncode == 0
    package = tmp_path / "a.intunewin"
    # Re-zip with one ciphertext byte flipped, so the outer CRC is consistent and only the MAC can notice.
    with zipfile.ZipFile(package) as outer:
        entries = {name: outer.read(name) for name in outer.namelist()}
    blob = bytearray(entries[BLOB])
    blob[200] ^= 0xFF
    entries[BLOB] = bytes(blob)
    with zipfile.ZipFile(package, "w") as outer:
        for name, data in entries.items():
            outer.writestr(name, data)
    result = _run("unpack", str(package), "-o", str(tmp_path / "x"))
    assert result.returncode == 3
    assert "mac-mismatch" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x" / "a.zip").exists()


def test_unpack_of_a_corrupted_file_exits_3_naming_the_outer_crc(tmp_path: Path) -> None:
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "a.exe").write_bytes(b"x" * 10_000)
    assert _run("pack", "-c", str(setup), "-s", "a.exe", "-o", str(tmp_path)).returncode == 0
    package = tmp_path / "a.intunewin"
    data = bytearray(package.read_bytes())
    data[300] ^= 0xFF  # a bit flip on disk, inside the encrypted entry
    package.write_bytes(bytes(data))
    result = _run("unpack", str(package), "-o", str(tmp_path / "x"))
    assert result.returncode == 3
    assert "outer-zip-crc-mismatch" in result.stderr and "Traceback" not in result.stderr


def test_pack_with_missing_setup_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "setup").mkdir()
    (tmp_path / "setup" / "other.txt").write_text("x")
    result = _run("pack", "-c", str(tmp_path / "setup"), "-s", "missing.exe", "-o", str(tmp_path))
    assert result.returncode == 2 and "missing.exe" in result.stderr


def test_unpack_of_a_non_zip_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.intunewin"
    bad.write_text("nope")
    result = _run("unpack", str(bad), "-o", str(tmp_path / "x"))
    assert result.returncode == 2 and "not a valid .intunewin" in result.stderr


def test_an_output_folder_that_is_a_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    setup = tmp_path / "setup"
    setup.mkdir()
    (setup / "a.exe").write_bytes(b"MZ" + b"\0" * 64)
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    packed = _run("pack", "-c", str(setup), "-s", "a.exe", "-o", str(taken))
    assert packed.returncode == 2 and "taken" in packed.stderr and "Traceback" not in packed.stderr
    assert _run("pack", "-c", str(setup), "-s", "a.exe", "-o", str(tmp_path / "out")).returncode == 0
    unpacked = _run("unpack", str(tmp_path / "out" / "a.intunewin"), "-o", str(taken))
    assert unpacked.returncode == 2 and "Traceback" not in unpacked.stderr


def test_a_usage_error_has_its_own_exit_code(tmp_path: Path) -> None:
    result = _run("pack", "-c", str(tmp_path))  # -s and -o missing
    assert result.returncode == 64 and "required" in result.stderr
