"""WinGet manifests, schema 1.0 to 1.12: singleton, multi-file (version + installer + locales) and merged.

Everything is normalised to one `Manifest`: installers carry their effective values (installer-level field,
else the root-level fallback; switches merged key by key), localizations fall back to the default locale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenlight.winget import safe_yaml
from greenlight.winget.errors import HostileInput, ManifestError
from greenlight.winget.index import check_package_id
from greenlight.winget.urls import check_url

ARCHITECTURES = ("x86", "x64", "arm", "arm64", "neutral")
INSTALLER_TYPES = (
    "msix", "msi", "appx", "exe", "zip", "inno", "nullsoft", "wix", "burn", "pwa", "portable", "font", "msstore",
)  # fmt: skip
NESTED_TYPES = ("msix", "msi", "appx", "exe", "inno", "nullsoft", "wix", "burn", "portable", "font")
SCOPES = ("user", "machine")
MANIFEST_TYPES = ("singleton", "version", "installer", "defaultLocale", "locale", "merged")
MAX_FILES = 64
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

# Installer fields that may be given once at the root of the installer manifest and apply to every installer.
ROOT_FALLBACKS = (
    "InstallerLocale", "Platform", "MinimumOSVersion", "InstallerType", "NestedInstallerType",
    "NestedInstallerFiles", "Scope", "InstallModes", "InstallerSwitches", "InstallerSuccessCodes",
    "ExpectedReturnCodes", "UpgradeBehavior", "Commands", "Protocols", "FileExtensions", "Dependencies",
    "PackageFamilyName", "ProductCode", "Capabilities", "RestrictedCapabilities", "Markets",
    "InstallerAbortsTerminal", "ReleaseDate", "InstallLocationRequired", "RequireExplicitUpgrade",
    "DisplayInstallWarnings", "UnsupportedOSArchitectures", "UnsupportedArguments", "AppsAndFeaturesEntries",
    "ElevationRequirement", "InstallationMetadata", "DownloadCommandProhibited", "RepairBehavior",
    "ArchiveBinariesDependOnPath", "Authentication",
)  # fmt: skip
LOCALE_FIELDS = (
    "PackageLocale", "Publisher", "PublisherUrl", "PublisherSupportUrl", "PrivacyUrl", "Author", "PackageName",
    "PackageUrl", "License", "LicenseUrl", "Copyright", "CopyrightUrl", "ShortDescription", "Description",
    "Moniker", "Tags", "Agreements", "ReleaseNotes", "ReleaseNotesUrl", "PurchaseUrl", "InstallationNotes",
    "Documentations", "Icons",
)  # fmt: skip


@dataclass(frozen=True)
class NestedFile:
    relative_path: str
    command_alias: str | None = None


@dataclass(frozen=True)
class Installer:
    architecture: str
    installer_type: str
    url: str
    sha256: str  # lowercase
    scope: str | None = None
    locale: str | None = None
    switches: Mapping[str, str] = field(default_factory=dict)
    nested_installer_type: str | None = None
    nested_installer_files: tuple[NestedFile, ...] = ()
    product_code: str | None = None
    apps_and_features: tuple[Mapping[str, Any], ...] = ()
    package_family_name: str | None = None
    signature_sha256: str | None = None
    install_modes: tuple[str, ...] = ()
    upgrade_behavior: str | None = None
    elevation_requirement: str | None = None
    minimum_os_version: str | None = None
    platforms: tuple[str, ...] = ()
    success_codes: tuple[int, ...] = ()
    commands: tuple[str, ...] = ()
    index: int = 0  # position in the manifest: the deterministic tie-breaker
    fields: Mapping[str, Any] = field(default_factory=dict)  # every effective field, as parsed

    @property
    def effective_type(self) -> str:
        """What actually runs: the nested installer type inside a zip, otherwise the installer type."""
        if self.installer_type == "zip" and self.nested_installer_type:
            return self.nested_installer_type
        return self.installer_type


@dataclass(frozen=True)
class Localization:
    locale: str
    fields: Mapping[str, Any]

    def get(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class Manifest:
    package_id: str
    version: str
    manifest_version: str
    default_locale: str
    installers: tuple[Installer, ...]
    localizations: Mapping[str, Localization]
    channel: str | None = None

    def localized(self, locale: str | None = None) -> dict[str, Any]:
        """Fields for `locale`: exact locale, else same language, over the default locale's fields."""
        merged = dict(self.localizations[self.default_locale].fields)
        if locale:
            chosen = self.localizations.get(locale)
            if chosen is None:
                language = locale.split("-")[0].lower()
                chosen = next(
                    (loc for key, loc in self.localizations.items() if key.split("-")[0].lower() == language), None
                )
            if chosen is not None:
                merged.update({k: v for k, v in chosen.fields.items() if v not in (None, "", [])})
        return merged

    @property
    def name(self) -> str:
        return str(self.localizations[self.default_locale].get("PackageName") or self.package_id)

    @property
    def publisher(self) -> str:
        return str(self.localizations[self.default_locale].get("Publisher") or "")

    @property
    def moniker(self) -> str | None:
        value = self.localizations[self.default_locale].get("Moniker")
        return str(value) if value else None

    @property
    def description(self) -> str | None:
        fields = self.localizations[self.default_locale].fields
        value = fields.get("Description") or fields.get("ShortDescription")
        return str(value).strip() if value else None

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(str(t) for t in (self.localizations[self.default_locale].get("Tags") or ()))


# ---------------------------------------------------------------- parsing


def parse_merged(data: bytes, *, allow_loopback: bool = False, what: str = "manifest") -> Manifest:
    """The single-document manifest the CDN serves (ManifestType: merged), or a singleton."""
    document = _document(safe_yaml.load(data, what), what)
    if document.get("ManifestType") not in ("merged", "singleton"):
        raise ManifestError(f"{what}: ManifestType must be merged or singleton, got {document.get('ManifestType')!r}")
    extra = document.get("Localization") or []
    if not isinstance(extra, list):
        raise ManifestError(f"{what}: Localization must be a list")
    locales = [document, *(_document(item, f"{what} Localization") for item in extra)]
    return _build(document, document, locales, allow_loopback, what)


def parse_documents(documents: list[Any], *, allow_loopback: bool = False, what: str = "manifest") -> Manifest:
    """A multi-file manifest (or a lone singleton/merged document) given as parsed documents."""
    docs = [_document(d, what) for d in documents]
    if len(docs) > MAX_FILES:
        raise HostileInput(f"{what}: more than {MAX_FILES} manifest files")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        kind = doc.get("ManifestType")
        if kind not in MANIFEST_TYPES:
            raise ManifestError(f"{what}: ManifestType {kind!r} is not one of {', '.join(MANIFEST_TYPES)}")
        by_type.setdefault(str(kind), []).append(doc)
    if len(docs) == 1 and ("singleton" in by_type or "merged" in by_type):
        doc = docs[0]
        extra = [_document(item, f"{what} Localization") for item in (doc.get("Localization") or [])]
        return _build(doc, doc, [doc, *extra], allow_loopback, what)
    for required in ("version", "installer", "defaultLocale"):
        if len(by_type.get(required, [])) != 1:
            raise ManifestError(
                f"{what}: expected exactly one {required} manifest, found {len(by_type.get(required, []))}"
            )
    version_doc = by_type["version"][0]
    installer_doc = by_type["installer"][0]
    locales = [by_type["defaultLocale"][0], *by_type.get("locale", [])]
    for doc in docs:
        for key in ("PackageIdentifier", "PackageVersion"):
            if doc.get(key) != version_doc.get(key):
                raise ManifestError(f"{what}: {key} differs between manifest files ({doc.get(key)!r})")
    return _build(version_doc, installer_doc, locales, allow_loopback, what)


def load_directory(path: Path, *, allow_loopback: bool = False) -> Manifest:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
    if not files:
        raise ManifestError(f"no manifest files in {path}")
    if len(files) > MAX_FILES:
        raise HostileInput(f"{path}: more than {MAX_FILES} manifest files")
    documents = [safe_yaml.load(p.read_bytes(), p.name) for p in files]
    return parse_documents(documents, allow_loopback=allow_loopback, what=str(path.name))


def _document(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{what} is not a YAML mapping")
    return value


def _string(doc: Mapping[str, Any], name: str, what: str, *, required: bool = True) -> str | None:
    value = doc.get(name)
    if value is None or value == "":
        if required:
            raise ManifestError(f"{what}: required field {name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ManifestError(f"{what}: field {name} must be a string")
    if len(value) > 10_000:
        raise ManifestError(f"{what}: field {name} is too long")
    return value


def _choice(value: Any, allowed: tuple[str, ...], field_name: str, what: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ManifestError(f"{what}: {field_name} {value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _manifest_version(doc: Mapping[str, Any], what: str) -> str:
    value = _string(doc, "ManifestVersion", what) or ""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)$", value)
    if not match or match.group(1) != "1" or int(match.group(2)) > 12:
        raise ManifestError(f"{what}: ManifestVersion {value!r} is not a supported schema (1.0.0 to 1.12.0)")
    return value


def _build(
    version_doc: Mapping[str, Any],
    installer_doc: Mapping[str, Any],
    locale_docs: list[dict[str, Any]],
    allow_loopback: bool,
    what: str,
) -> Manifest:
    package_id = check_package_id(_string(version_doc, "PackageIdentifier", what) or "")
    version = _string(version_doc, "PackageVersion", what) or ""
    what = f"manifest of {package_id} {version}"
    manifest_version = _manifest_version(version_doc, what)
    localizations: dict[str, Localization] = {}
    default_locale = None
    for number, doc in enumerate(locale_docs):
        locale = _string(doc, "PackageLocale", f"{what} locale #{number}") or ""
        fields = {k: doc[k] for k in LOCALE_FIELDS if k in doc}
        tags = fields.get("Tags")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            raise ManifestError(f"{what} locale {locale}: Tags must be a list of strings")
        if locale in localizations and number > 0:
            raise ManifestError(f"{what}: locale {locale} appears twice")
        localizations[locale] = Localization(locale, fields)
        if number == 0:
            default_locale = locale
    assert default_locale is not None
    declared_default = version_doc.get("DefaultLocale")
    if declared_default and declared_default != default_locale:
        raise ManifestError(f"{what}: DefaultLocale {declared_default!r} has no defaultLocale manifest")
    for required in ("Publisher", "PackageName"):
        _string(localizations[default_locale].fields, required, f"{what} default locale {default_locale}")
    raw_installers = installer_doc.get("Installers")
    if not isinstance(raw_installers, list) or not raw_installers:
        raise ManifestError(f"{what}: Installers must be a non-empty list")
    installers = tuple(
        _installer(installer_doc, raw, number, package_id, allow_loopback, what)
        for number, raw in enumerate(raw_installers)
    )
    return Manifest(
        package_id=package_id,
        version=version,
        manifest_version=manifest_version,
        default_locale=default_locale,
        installers=installers,
        localizations=localizations,
        channel=_string(version_doc, "Channel", what, required=False),
    )


def _installer(
    root: Mapping[str, Any], raw: Any, number: int, package_id: str, allow_loopback: bool, what: str
) -> Installer:
    where = f"{what}: Installers[{number}]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is not a mapping")
    effective: dict[str, Any] = {k: root[k] for k in ROOT_FALLBACKS if k in root}
    effective.update(raw)
    switches: dict[str, str] = {}
    for source in (root.get("InstallerSwitches"), raw.get("InstallerSwitches")):
        if source is None:
            continue
        if not isinstance(source, dict):
            raise ManifestError(f"{where}.InstallerSwitches must be a mapping")
        switches.update({str(k): str(v) for k, v in source.items() if v is not None})
    architecture = _choice(effective.get("Architecture"), ARCHITECTURES, "Architecture", where)
    installer_type = _choice(effective.get("InstallerType"), INSTALLER_TYPES, "InstallerType", where)
    nested_type = effective.get("NestedInstallerType")
    nested_files: tuple[NestedFile, ...] = ()
    if installer_type == "zip":
        nested_type = _choice(nested_type, NESTED_TYPES, "NestedInstallerType", where)
        raw_files = effective.get("NestedInstallerFiles")
        if not isinstance(raw_files, list) or not raw_files:
            raise ManifestError(f"{where}.NestedInstallerFiles must list the installer inside the zip")
        files = []
        for item in raw_files:
            path = item.get("RelativeFilePath") if isinstance(item, dict) else None
            if not isinstance(path, str) or ".." in path.replace("\\", "/").split("/") or path.startswith(("/", "\\")):
                raise HostileInput(f"{where}.NestedInstallerFiles has an unsafe RelativeFilePath {path!r}")
            files.append(NestedFile(path, item.get("PortableCommandAlias")))
        nested_files = tuple(files)
    elif nested_type is not None:
        nested_type = None  # only meaningful for zip; root-level fallbacks may set it for all installers
    if installer_type == "msstore":
        url, sha256 = "", ""
    else:
        url = check_url(
            _string(effective, "InstallerUrl", where) or "",
            f"{where}.InstallerUrl",
            allow_loopback=allow_loopback,
            package_id=package_id,
        )
        sha256 = _string(effective, "InstallerSha256", where) or ""
        if not _SHA256.match(sha256):
            raise ManifestError(f"{where}.InstallerSha256 is not a SHA-256 hex string")
    scope = effective.get("Scope")
    if scope is not None:
        scope = _choice(scope, SCOPES, "Scope", where)
    codes = []
    for code in effective.get("InstallerSuccessCodes") or ():
        try:
            codes.append(int(str(code), 0))
        except ValueError:
            raise ManifestError(f"{where}.InstallerSuccessCodes has a non-integer {code!r}") from None
    apps = effective.get("AppsAndFeaturesEntries") or ()
    if not isinstance(apps, list | tuple) or not all(isinstance(a, dict) for a in apps):
        raise ManifestError(f"{where}.AppsAndFeaturesEntries must be a list of mappings")
    signature = effective.get("SignatureSha256")
    return Installer(
        architecture=architecture,
        installer_type=installer_type,
        url=url,
        sha256=sha256.lower(),
        scope=scope,
        locale=_string(effective, "InstallerLocale", where, required=False),
        switches=switches,
        nested_installer_type=nested_type,
        nested_installer_files=nested_files,
        product_code=_string(effective, "ProductCode", where, required=False),
        apps_and_features=tuple(apps),
        package_family_name=_string(effective, "PackageFamilyName", where, required=False),
        signature_sha256=signature.lower() if isinstance(signature, str) else None,
        install_modes=tuple(str(m) for m in effective.get("InstallModes") or ()),
        upgrade_behavior=_string(effective, "UpgradeBehavior", where, required=False),
        elevation_requirement=_string(effective, "ElevationRequirement", where, required=False),
        minimum_os_version=_string(effective, "MinimumOSVersion", where, required=False),
        platforms=tuple(str(p) for p in effective.get("Platform") or ()),
        success_codes=tuple(codes),
        commands=tuple(str(c) for c in effective.get("Commands") or ()),
        index=number,
        fields=effective,
    )
