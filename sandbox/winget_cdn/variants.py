"""Tampered copies of the sandbox source, one per link of the chain, each served under /winget/v/<name>/.

Each variant is a complete, separately built tree (its installer URLs point into the variant), then damaged
in exactly one place, so a client pointed at a variant must stop at that link with that link's error.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenlight.winget import mszip
from sandbox.winget_cdn.builder import BuildOptions, BuiltSource, build_source, rebuild_with
from sandbox.winget_cdn.signing import TestPki

VARIANTS = ("good", "index-row", "versiondata", "manifest", "installer", "untrusted-ca", "older")
DESCRIPTIONS = {
    "good": "the genuine sandbox source",
    "index-row": "Public/index.db row changed after signing (signature and block map kept)",
    "versiondata": "every versionData.mszyml re-written with an extra version",
    "manifest": "every merged manifest's installer URL changed",
    "installer": "every installer binary replaced",
    "untrusted-ca": "validly built but signed by a CA nobody trusts (same names as the real one)",
    "older": "validly signed source with an older version (rollback)",
}


def build_variant(
    name: str,
    documents: list[dict[str, Any]],
    out: Path,
    base_url: str,
    pki: TestPki,
    untrusted: Callable[[], TestPki],
    now: dt.datetime,
) -> BuiltSource:
    if name not in VARIANTS:
        raise KeyError(name)
    signer = untrusted() if name == "untrusted-ca" else pki
    moment = now - dt.timedelta(days=1) if name == "older" else now
    built = build_source(documents, out, signer, BuildOptions(base_url=base_url, signing_time=moment))
    if name == "index-row":
        (out / "source2.msix").write_bytes(rebuild_with(built, "Public/index.db", _tamper_index(built)))
    elif name == "versiondata":
        for path in out.glob("packages/*/*/versionData.mszyml"):
            text = mszip.decompress(path.read_bytes()).decode()
            text += "- v: 99.0.0\n  rP: manifests/x/evil/99.0.0/dead\n  s256H: " + "0" * 64 + "\n"
            path.write_bytes(mszip.compress(text.encode()))
    elif name == "manifest":
        for path in out.glob("manifests/**/*"):
            if path.is_file():
                path.write_bytes(path.read_bytes().replace(b"InstallerUrl: https://", b"InstallerUrl: https://evil."))
    elif name == "installer":
        for path in out.glob("installers/**/*"):
            if path.is_file():
                with open(path, "r+b") as installer:  # in place: sized installers can be large
                    installer.write(b"MZ tampered installer ")
    return built


def _tamper_index(built: BuiltSource) -> bytes:
    original = dict(built.payload)["Public/index.db"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.db"
        path.write_bytes(original)
        db = sqlite3.connect(path)
        db.execute("UPDATE packages SET latest_version = '99.0.0' WHERE rowid = 1")
        db.commit()
        db.close()
        return path.read_bytes()
