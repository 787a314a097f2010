"""Synthetic packages: a few hand-shaped ones the sandbox always serves, and N generated ones for the bench.

Installers are small stand-in binaries (a PE-looking header and a text body), generated deterministically so
a package's InstallerSha256 is stable for a given id, version and installer position.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

_WORDS = (
    "note", "task", "photo", "media", "zip", "code", "sync", "mail", "chart", "paint", "term", "shell", "backup",
    "vault", "draw", "scan", "clip", "pdf", "audio", "video", "cloud", "data", "graph", "edit", "view", "dev",
)  # fmt: skip
_PUBLISHERS = ("Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Adatum", "Litware", "Proseware")


def installer_bytes(package_id: str, version: str, index: int, size: int = 4096) -> bytes:
    """Deterministic stand-in installer content."""
    text = f"Greenlight sandbox stand-in installer for {package_id} {version} #{index}\n".encode()
    seed = hashlib.sha256(text).digest()
    filler = (seed * (size // len(seed) + 1))[: max(0, size - 2 - len(text))]
    return b"MZ" + text + filler


def write_sized_installer(path: Path, package_id: str, version: str, size: int) -> str:
    """Write `size` bytes of a stand-in installer to `path` as it is generated (never whole in memory): an MZ
    header, then SHA-256 counter-mode filler (incompressible, reproducible). Returns the SHA-256 hex digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    head = f"MZ Greenlight sandbox sized installer {package_id} {version}\n".encode()
    written = 0
    counter = 0
    with open(path, "wb") as out:
        while written < size:
            block = bytearray(head if written == 0 else b"")
            while len(block) < 8 * 1024 * 1024:
                block += hashlib.sha256(f"{package_id}|{version}|{counter}".encode()).digest() * 2048
                counter += 1
            data = bytes(block[: size - written])
            out.write(data)
            digest.update(data)
            written += len(data)
    return digest.hexdigest()


def sized_packages(sizes_mib: list[int]) -> list[dict[str, Any]]:
    """`Greenlight.Sized{N}M` packages whose one installer is N MiB (the bench publishes 100 MiB and 1 GiB)."""
    return [
        _doc(
            f"Greenlight.Sized{size}M",
            "1.0.0",
            f"Greenlight Sized {size} MiB",
            "Greenlight",
            [
                _installer(
                    "x64", "inno", f"GreenlightSized{size}M-1.0.0.exe", Scope="machine", _SandboxSize=size * 1024 * 1024
                )
            ],
            Tags=["sample", "bench"],
        )
        for size in sizes_mib
    ]


def _doc(
    package_id: str, version: str, name: str, publisher: str, installers: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "PackageIdentifier": package_id,
        "PackageVersion": version,
        "PackageLocale": "en-US",
        "Publisher": publisher,
        "PackageName": name,
        "License": "Proprietary",
        "ShortDescription": f"{name} (synthetic sandbox package)",
        "Installers": installers,
        "ManifestType": "merged",
        "ManifestVersion": "1.10.0",
    }
    doc.update(extra)
    return doc


def _installer(architecture: str, installer_type: str, file_name: str, **extra: Any) -> dict[str, Any]:
    # The builder replaces InstallerUrl/InstallerSha256 with the sandbox-served stand-in.
    entry = {
        "Architecture": architecture,
        "InstallerType": installer_type,
        "InstallerUrl": f"https://downloads.example.invalid/{file_name}",
        "InstallerSha256": "0" * 64,
    }
    entry.update(extra)
    return entry


def sandbox_packages() -> list[dict[str, Any]]:
    """Hand-shaped packages: several versions, scopes, a zip with a nested portable, a second locale."""
    docs = []
    for version in ("1.0.0", "1.2.0", "2.0.0"):
        docs.append(
            _doc(
                "Contoso.Notes",
                version,
                "Contoso Notes",
                "Contoso Ltd.",
                [
                    _installer(
                        "x64",
                        "wix",
                        f"ContosoNotes-{version}-x64.msi",
                        ProductCode="{11111111-2222-3333-4444-555555555555}",
                    ),
                    _installer("x86", "exe", f"ContosoNotes-{version}-x86.exe", InstallerSwitches={"Silent": "/quiet"}),
                    _installer("x64", "exe", f"ContosoNotesUser-{version}.exe", Scope="user"),
                ],
                Moniker="cnotes",
                Tags=["notes", "markdown"],
                Commands=["cnotes"],
                Description="Take notes. Used by the Greenlight sandbox to exercise versions and scopes.",
                Localization=[
                    {"PackageLocale": "de-DE", "PackageName": "Contoso Notizen", "ShortDescription": "Notizen"}
                ],
            )
        )
    docs.append(
        _doc(
            "Fabrikam.Toolkit",
            "3.1.4",
            "Fabrikam Toolkit",
            "Fabrikam, Inc.",
            [
                _installer(
                    "x64",
                    "zip",
                    "fabrikam-toolkit-3.1.4-win-x64.zip",
                    NestedInstallerType="portable",
                    NestedInstallerFiles=[{"RelativeFilePath": "fabrikam/fk.exe", "PortableCommandAlias": "fk"}],
                )
            ],
            Moniker="fk",
            Tags=["cli", "toolkit"],
        )
    )
    docs.append(
        _doc(
            "Greenlight.SampleApp",
            "0.9.1",
            "Greenlight Sample App",
            "Greenlight",
            [_installer("x64", "inno", "GreenlightSample-0.9.1.exe", Scope="machine")],
            Tags=["sample"],
        )
    )
    # Big enough to download and upload in several blocks: the resume tests interrupt it part-way.
    return docs + sized_packages([6])


def generate(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` synthetic packages (one or two versions each) shaped like community manifests."""
    rng = random.Random(seed)
    docs = []
    for number in range(count):
        publisher = rng.choice(_PUBLISHERS)
        words = rng.sample(_WORDS, 2)
        name = f"{words[0].title()}{words[1].title()} {number}"
        package_id = f"{publisher}.{words[0].title()}{words[1].title()}{number}"
        versions = [f"{rng.randint(1, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 999)}"]
        if rng.random() < 0.3:
            versions.append(f"{int(versions[0].split('.')[0]) + 1}.0.0")
        for version in versions:
            docs.append(
                _doc(
                    package_id,
                    version,
                    name,
                    f"{publisher} Corporation",
                    [
                        _installer(
                            "x64", rng.choice(("wix", "inno", "nullsoft", "exe")), f"{package_id}-{version}-x64.exe"
                        ),
                        _installer("x86", "exe", f"{package_id}-{version}-x86.exe"),
                    ],
                    Moniker=f"{words[0]}{words[1]}{number}",
                    Tags=rng.sample(_WORDS, 3),
                    Commands=[f"{words[0]}{number}"],
                )
            )
    return docs
