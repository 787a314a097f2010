"""Builds a signed WinGet source tree from manifests: what the CDN serves, laid out as the CDN lays it out.

<out>/source2.msix                                   signed; Public/index.db is schema 2.0
<out>/packages/<Id>/<hash8>/versionData.mszyml       MSZIP YAML, sha256 = packages.hash
<out>/manifests/<l>/<Id path>/<version>/<hash4>      merged manifests, sha256 = s256H
<out>/installers/<Id>/<version>/<n>-<file>           stand-in installers (when mirroring)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from greenlight.winget import manifest as manifest_module
from greenlight.winget import mszip, safe_yaml, versions
from sandbox.winget_cdn.msix_writer import appx_manifest, block_map, build_msix
from sandbox.winget_cdn.signing import MICROSOFT_PUBLISHER, TestPki
from sandbox.winget_cdn.synthetic import installer_bytes, write_sized_installer

SOURCE_NAME = "Microsoft.Winget.Source"

SCHEMA_V2 = """
CREATE TABLE [metadata]([name] TEXT PRIMARY KEY NOT NULL, [value] TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE [packages](rowid INTEGER PRIMARY KEY, [id] TEXT NOT NULL, [name] TEXT NOT NULL, [moniker] TEXT,
  [latest_version] TEXT NOT NULL, [arp_min_version] TEXT, [arp_max_version] TEXT, [hash] BLOB);
CREATE TABLE [tags2](rowid INTEGER PRIMARY KEY, [tag] TEXT NOT NULL);
CREATE TABLE [tags2_map]([tag] INT64 NOT NULL, [package] INT64 NOT NULL, PRIMARY KEY([tag], [package])) WITHOUT ROWID;
CREATE TABLE [commands2](rowid INTEGER PRIMARY KEY, [command] TEXT NOT NULL);
CREATE TABLE [commands2_map]([command] INT64 NOT NULL, [package] INT64 NOT NULL, PRIMARY KEY([command], [package]))
  WITHOUT ROWID;
CREATE TABLE [pfns2]([pfn] TEXT NOT NULL, [package] INT64 NOT NULL, PRIMARY KEY([pfn], [package])) WITHOUT ROWID;
CREATE TABLE [productcodes2]([productcode] TEXT NOT NULL, [package] INT64 NOT NULL,
  PRIMARY KEY([productcode], [package])) WITHOUT ROWID;
CREATE TABLE [upgradecodes2]([upgradecode] TEXT NOT NULL, [package] INT64 NOT NULL,
  PRIMARY KEY([upgradecode], [package])) WITHOUT ROWID;
CREATE TABLE [norm_names2]([norm_name] TEXT NOT NULL, [package] INT64 NOT NULL,
  PRIMARY KEY([norm_name], [package])) WITHOUT ROWID;
CREATE TABLE [norm_publishers2]([norm_publisher] TEXT NOT NULL, [package] INT64 NOT NULL,
  PRIMARY KEY([norm_publisher], [package])) WITHOUT ROWID;
"""


def source_version_for(moment: dt.datetime) -> str:
    """winget's sourceversion shape: Year.MonthDay.(Hour+1)(Minute).ms (reference §2.2)."""
    moment = moment.astimezone(dt.UTC)
    month_day = moment.month * 100 + moment.day
    hour_minute = (moment.hour + 1) * 100 + moment.minute
    return f"{moment.year}.{month_day}.{hour_minute}.{moment.microsecond // 1000}"


@dataclass(frozen=True)
class BuildOptions:
    base_url: str  # where this tree is served, no trailing slash
    signing_time: dt.datetime
    source_version: str | None = None  # default: derived from signing_time
    mirror_installers: bool = True  # point installers at sandbox-served stand-ins
    write_files: bool = True  # False: only source2.msix (benchmarks)
    validate: bool = True  # parse every manifest as the verifier will (False: benchmarks of generated data)


@dataclass
class BuiltSource:
    root: Path
    version: str
    msix: bytes
    payload: list[tuple[str, bytes]]
    p7x: bytes
    packages: dict[str, list[str]] = field(default_factory=dict)  # id -> versions, newest first
    installers: dict[str, str] = field(default_factory=dict)  # url path -> sha256


# ---------------------------------------------------------------- manifests


def merge_documents(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Multi-file (version + installer + locales) or singleton → one merged document."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        by_type.setdefault(str(doc.get("ManifestType")), []).append(doc)
    if "singleton" in by_type or "merged" in by_type:
        merged = dict(documents[0])
        merged["ManifestType"] = "merged"
        return merged
    drop = {"ManifestType", "ManifestVersion"}
    version_doc = by_type["version"][0]
    merged: dict[str, Any] = {}
    for doc in (by_type["defaultLocale"][0], by_type["installer"][0], version_doc):
        merged.update({k: v for k, v in doc.items() if k not in drop})
    others = [
        {k: v for k, v in doc.items() if k not in drop | {"PackageIdentifier", "PackageVersion"}}
        for doc in by_type.get("locale", [])
    ]
    if others:
        merged["Localization"] = others
    merged["ManifestType"] = "merged"
    merged["ManifestVersion"] = version_doc["ManifestVersion"]
    return merged


def read_manifest_tree(folder: Path) -> list[dict[str, Any]]:
    """Every directory holding *.yaml files is one package version (winget-pkgs layout)."""
    merged = []
    for directory in sorted({p.parent for p in folder.rglob("*.yaml")}):
        docs = [safe_yaml.load(p.read_bytes(), p.name) for p in sorted(directory.glob("*.yaml"))]
        merged.append(merge_documents(docs))
    return merged


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(document: dict[str, Any]) -> bytes:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=1000).encode()


def _normalize(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


# ---------------------------------------------------------------- build


def build_source(documents: Iterable[dict[str, Any]], out: Path, pki: TestPki, options: BuildOptions) -> BuiltSource:
    by_package: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        by_package.setdefault(str(doc["PackageIdentifier"]), []).append(doc)
    version = options.source_version or source_version_for(options.signing_time)
    built = BuiltSource(out, version, b"", [], b"")
    rows = []
    for package_id in sorted(by_package):
        entries = []
        docs = sorted(by_package[package_id], key=lambda d: versions.sort_key(str(d["PackageVersion"])), reverse=True)
        for doc in docs:
            doc = dict(doc)
            package_version = str(doc["PackageVersion"])
            if not options.mirror_installers:
                doc["Installers"] = [{k: v for k, v in i.items() if k != "_SandboxSize"} for i in doc["Installers"]]
            else:
                doc["Installers"] = [
                    _mirror(dict(inst), package_id, package_version, n, out, options, built)
                    for n, inst in enumerate(doc["Installers"])
                ]
            data = _dump(doc)
            if options.validate:  # as the verifier will (loopback allowed: the sandbox serves installers locally)
                manifest_module.parse_merged(data, allow_loopback=True, what=f"{package_id} {package_version}")
            digest = hashlib.sha256(data).hexdigest()
            relative = (
                f"manifests/{package_id[0].lower()}/{package_id.replace('.', '/')}/{package_version}/{digest[:4]}"
            )
            if options.write_files:
                _write(out / relative, data)
            entries.append({"v": package_version, "rP": relative, "s256H": digest.upper()})
        version_data = mszip.compress(_dump({"sV": "1.0", "vD": entries}))
        data_hash = hashlib.sha256(version_data).digest()
        if options.write_files:
            _write(out / "packages" / package_id / data_hash.hex()[:8] / "versionData.mszyml", version_data)
        built.packages[package_id] = [e["v"] for e in entries]
        rows.append((package_id, docs, data_hash))
    index_db = _index_db(rows, options.signing_time)
    built.payload = [
        ("AppxManifest.xml", appx_manifest(SOURCE_NAME, MICROSOFT_PUBLISHER, version)),
        ("Public/index.db", index_db),
    ]

    def sign(blob: bytes) -> bytes:
        built.p7x = pki.sign_appx(blob, options.signing_time)
        return built.p7x

    built.msix = build_msix(built.payload, sign)
    _write(out / "source2.msix", built.msix)
    return built


def _mirror(
    installer: dict[str, Any],
    package_id: str,
    version: str,
    number: int,
    out: Path,
    options: BuildOptions,
    built: BuiltSource,
) -> dict[str, Any]:
    original = str(installer.get("InstallerUrl", "installer.exe"))
    file_name = re.sub(r"[^A-Za-z0-9._-]", "_", original.rsplit("/", 1)[-1]) or "installer.exe"
    relative = f"installers/{package_id}/{version}/{number}-{file_name}"
    sized = installer.pop("_SandboxSize", None)
    if sized is not None:  # a large generated installer, written as it is produced
        digest = write_sized_installer(out / relative, package_id, version, int(sized))
    else:
        content = installer_bytes(package_id, version, number)
        if options.write_files:
            _write(out / relative, content)
        digest = hashlib.sha256(content).hexdigest()
    installer["InstallerUrl"] = f"{options.base_url}/{quote(relative)}"
    installer["InstallerSha256"] = digest.upper()
    built.installers[relative] = digest
    return installer


def _index_db(rows: list[tuple[str, list[dict[str, Any]], bytes]], built_at: dt.datetime) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.db"
        db = sqlite3.connect(path)
        db.executescript(SCHEMA_V2)
        timestamp = str(int(built_at.timestamp()))
        db.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [
                ("majorVersion", "2"),
                ("minorVersion", "0"),
                ("lastwritetime", timestamp),
                ("databaseIdentifier", "{" + hashlib.md5(timestamp.encode()).hexdigest() + "}"),  # noqa: S324 - an id
                ("updateTrackingBase", timestamp),
            ],
        )
        tags: dict[str, int] = {}
        commands: dict[str, int] = {}
        for rowid, (package_id, docs, data_hash) in enumerate(rows, start=1):
            latest = docs[0]
            db.execute(
                "INSERT INTO packages VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)",
                (
                    rowid,
                    package_id,
                    latest["PackageName"],
                    latest.get("Moniker"),
                    str(latest["PackageVersion"]),
                    data_hash,
                ),
            )
            package_tags, package_commands, codes, names, publishers = set(), set(), set(), set(), set()
            for doc in docs:  # aggregated over all versions, as PrepareForPackaging does
                package_tags.update(str(t).lower() for t in doc.get("Tags") or ())
                package_commands.update(str(c).lower() for c in doc.get("Commands") or ())
                names.add(_normalize(str(doc["PackageName"])))
                publishers.add(_normalize(str(doc["Publisher"])))
                for installer in doc["Installers"]:
                    package_commands.update(str(c).lower() for c in installer.get("Commands") or ())
                    if installer.get("ProductCode"):
                        codes.add(str(installer["ProductCode"]).lower())
            for tag in sorted(package_tags):
                tag_id = tags.setdefault(tag, len(tags) + 1)
                if tag_id == len(tags):
                    db.execute("INSERT OR IGNORE INTO tags2 VALUES (?, ?)", (tag_id, tag))
                db.execute("INSERT INTO tags2_map VALUES (?, ?)", (tag_id, rowid))
            for command in sorted(package_commands):
                command_id = commands.setdefault(command, len(commands) + 1)
                db.execute("INSERT OR IGNORE INTO commands2 VALUES (?, ?)", (command_id, command))
                db.execute("INSERT INTO commands2_map VALUES (?, ?)", (command_id, rowid))
            db.executemany("INSERT INTO productcodes2 VALUES (?, ?)", [(c, rowid) for c in sorted(codes)])
            db.executemany("INSERT INTO norm_names2 VALUES (?, ?)", [(n, rowid) for n in sorted(names)])
            db.executemany("INSERT INTO norm_publishers2 VALUES (?, ?)", [(p, rowid) for p in sorted(publishers)])
        db.commit()
        db.execute("VACUUM")
        db.close()
        return path.read_bytes()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def rebuild_with(
    built: BuiltSource, name: str, data: bytes, *, resign: bool = False, pki: TestPki | None = None
) -> bytes:
    """The same source with one payload file replaced. Without `resign` the original signature and block map
    are kept: what a CDN-side tamperer who cannot sign would produce."""
    payload = [(n, data if n == name else d) for n, d in built.payload]
    if resign:
        assert pki is not None
        return build_msix(payload, lambda blob: pki.sign_appx(blob, dt.datetime.now(dt.UTC)))
    return build_msix(payload, lambda _blob: built.p7x, blockmap_override=block_map(built.payload))
