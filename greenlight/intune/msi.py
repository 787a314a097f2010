"""Read an MSI's tables (pure Python, olefile): product code, version, upgrade code, package code and what it
installs — the facts a packager checks instead of trusting the manifest (WinTuner #128), and Detection.xml's MsiInfo.

An MSI is an OLE compound file. Table streams have names compressed by Windows Installer's base-64 scheme (two
characters per UTF-16 unit, prefix U+4840); strings live in `_StringPool` / `_StringData`; table data is stored
column by column; integer columns are offset by 0x8000 (2-byte) or 0x80000000 (4-byte).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import olefile

from greenlight.intune.errors import ContentSourceError
from greenlight.intune.mapping import MsiFacts

_MIME = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"
_STRING = 0x0800
_SYSTEM_FOLDERS = {"SystemFolder", "System64Folder", "System16Folder", "WindowsFolder", "WindowsVolume"}


def stream_name(table: str) -> str:
    """Windows Installer's encoding of a table's stream name."""
    out = [chr(0x4840)]
    index = 0
    while index < len(table):
        first = _MIME.find(table[index])
        second = _MIME.find(table[index + 1]) if index + 1 < len(table) else -1
        if first >= 0 and second >= 0:
            out.append(chr(0x3800 + first + (second << 6)))
            index += 2
        elif first >= 0:
            out.append(chr(0x4800 + first))
            index += 1
        else:
            out.append(table[index])
            index += 1
    return "".join(out)


@dataclass(frozen=True)
class MsiDatabase:
    ole: Any
    strings: list[str]
    long_refs: bool

    @classmethod
    def open(cls, path: Path) -> MsiDatabase:
        try:
            ole = olefile.OleFileIO(str(path))
        except (OSError, ValueError) as error:
            raise ContentSourceError(f"{path.name} is not an MSI (OLE) file: {error}") from None
        try:
            pool = ole.openstream(stream_name("_StringPool")).read()
            data = ole.openstream(stream_name("_StringData")).read()
        except OSError:
            ole.close()
            raise ContentSourceError(f"{path.name} is an OLE file but not an MSI (no string pool)") from None
        codepage_high = struct.unpack_from("<H", pool, 2)[0]
        long_refs = bool(codepage_high & 0x8000)
        codepage = struct.unpack_from("<H", pool, 0)[0]
        encoding = f"cp{codepage}" if codepage not in (0, 65001) else "utf-8"
        words = struct.unpack(f"<{len(pool) // 2}H", pool[: len(pool) // 2 * 2])
        strings, offset, entry = [""], 0, 1
        count = len(pool) // 4
        while entry < count:
            length, refs = words[entry * 2], words[entry * 2 + 1]
            if length == 0 and refs == 0:
                strings.append("")
                entry += 1
                continue
            if length == 0:  # a string over 64 KiB: the next entry holds its length
                length = (words[entry * 2 + 3] << 16) + words[entry * 2 + 2]
                entry += 2
            else:
                entry += 1
            strings.append(data[offset : offset + length].decode(encoding, errors="replace"))
            offset += length
        return cls(ole, strings, long_refs)

    def columns(self, table: str) -> list[tuple[str, int]]:
        rows = self._rows("_Columns", [_STRING, 2, _STRING, 2])
        ordered = sorted((number, name, kind) for t, number, name, kind in rows if t == table)
        return [(name, kind) for _, name, kind in ordered]

    def _rows(self, table: str, kinds: list[int]) -> list[list[Any]]:
        name = stream_name(table)
        if not self.ole.exists(name):
            return []
        raw = self.ole.openstream(name).read()
        widths = [
            (3 if self.long_refs else 2) if kind & _STRING else (4 if (kind & 0xFF) == 4 else 2) for kind in kinds
        ]
        row_size = sum(widths)
        count = len(raw) // row_size if row_size else 0
        columns: list[list[Any]] = []
        offset = 0
        for kind, width in zip(kinds, widths, strict=True):
            values = []
            for row in range(count):
                chunk = raw[offset + row * width : offset + (row + 1) * width]
                number = int.from_bytes(chunk, "little")
                if kind & _STRING:
                    values.append(self.strings[number] if number < len(self.strings) else "")
                elif number == 0:
                    values.append(None)
                else:
                    values.append(number - (0x8000 if width == 2 else 0x80000000))
            columns.append(values)
            offset += width * count
        return [list(row) for row in zip(*columns, strict=True)] if columns else []

    def table(self, name: str) -> list[dict[str, Any]]:
        columns = self.columns(name)
        if not columns:
            return []
        return [
            dict(zip([c for c, _ in columns], row, strict=True)) for row in self._rows(name, [k for _, k in columns])
        ]

    def properties(self) -> dict[str, str]:
        return {row["Property"]: row["Value"] for row in self.table("Property")}

    def package_code(self) -> str:
        value = self.ole.get_metadata().revision_number
        return value.decode("latin-1") if isinstance(value, bytes) else str(value or "")

    def close(self) -> None:
        self.ole.close()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def read_msi(path: Path) -> tuple[MsiFacts, dict[str, str], str]:
    """The MSI's facts, its Detection.xml MsiInfo values (IntuneWinAppUtil's order), and its ProductName."""
    database = MsiDatabase.open(path)
    try:
        props = database.properties()
        if "ProductCode" not in props or "ProductVersion" not in props:
            raise ContentSourceError(f"{path.name} has no ProductCode/ProductVersion in its Property table")
        all_users = props.get("ALLUSERS", "")
        per_user = props.get("MSIINSTALLPERUSER") == "1"
        context = "System" if all_users == "1" else ("User" if all_users == "" or per_user else "Any")
        sequence = {row["Action"] for row in database.table("InstallExecuteSequence")}
        registry_roots = {row.get("Root") for row in database.table("Registry")}
        directories = {row.get("Directory") for row in database.table("Directory")}
        msi_info = {
            "MsiProductCode": props["ProductCode"],
            "MsiProductVersion": props["ProductVersion"],
            "MsiPackageCode": database.package_code(),
            "MsiUpgradeCode": props.get("UpgradeCode", ""),
            "MsiExecutionContext": context,
            "MsiRequiresLogon": _bool(False),
            "MsiRequiresReboot": _bool(bool(sequence & {"ScheduleReboot", "ForceReboot"})),
            "MsiIsMachineInstall": _bool(context != "User"),
            "MsiIsUserInstall": _bool(context != "System"),
            "MsiIncludesServices": _bool(bool(database.table("ServiceInstall"))),
            "MsiIncludesODBCDataSource": _bool(bool(database.table("ODBCDataSource"))),
            "MsiContainsSystemRegistryKeys": _bool(bool(registry_roots & {2, -1})),
            "MsiContainsSystemFolders": _bool(bool(directories & _SYSTEM_FOLDERS)),
            "MsiPublisher": props.get("Manufacturer", ""),
        }
        facts = MsiFacts(
            product_code=props["ProductCode"],
            product_version=props["ProductVersion"],
            upgrade_code=props.get("UpgradeCode"),
            manufacturer=props.get("Manufacturer"),
            product_name=props.get("ProductName"),
        )
        return facts, msi_info, props.get("ProductName", path.stem)
    finally:
        database.close()
