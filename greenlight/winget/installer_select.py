"""Pick one installer from a verified manifest for (architecture, scope, locale, preferred types).

Deterministic: installers are ranked by a tuple (architecture fit, scope fit, locale fit, type preference,
position in the manifest) and the explanation lists why the winner won and why each other installer lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenlight.winget.errors import NoSuitableInstaller
from greenlight.winget.manifest import Installer, Manifest

# What each device architecture can run, best first (x64 and x86 emulation on arm64 Windows 11).
ARCH_COMPATIBILITY = {
    "x64": ("x64", "x86", "neutral"),
    "x86": ("x86", "neutral"),
    "arm64": ("arm64", "x64", "x86", "neutral"),
    "arm": ("arm", "neutral"),
}
# Silent, detectable installers first: MSI-based ones give Intune a product code.
DEFAULT_TYPE_PREFERENCE = ("wix", "msi", "burn", "msix", "appx", "inno", "nullsoft", "exe", "portable")


@dataclass(frozen=True)
class Requirements:
    architecture: str = "x64"
    scope: str | None = None  # "user", "machine" or None for either
    locale: str | None = None
    installer_types: tuple[str, ...] = DEFAULT_TYPE_PREFERENCE


@dataclass(frozen=True)
class InstallerChoice:
    installer: Installer
    reasons: tuple[str, ...]
    rejected: tuple[tuple[int, str], ...]

    def explain(self) -> str:
        lines = [f"chose installer #{self.installer.index}: " + "; ".join(self.reasons)]
        lines += [f"  not #{index}: {why}" for index, why in self.rejected]
        return "\n".join(lines)


def _locale_rank(installer: Installer, wanted: str | None) -> tuple[int, str]:
    if not wanted:
        return (0 if installer.locale is None else 1, "no locale requested")
    if installer.locale is None:
        return 2, "installer is locale-neutral"
    if installer.locale.lower() == wanted.lower():
        return 0, f"locale {installer.locale} matches"
    if installer.locale.split("-")[0].lower() == wanted.split("-")[0].lower():
        return 1, f"locale {installer.locale} has the requested language"
    return 3, f"locale {installer.locale} differs from {wanted}"


def choose_installer(manifest: Manifest, requirements: Requirements) -> InstallerChoice:
    arch_order = ARCH_COMPATIBILITY.get(requirements.architecture)
    if arch_order is None:
        raise NoSuitableInstaller(
            f"unknown architecture {requirements.architecture!r}; use one of {', '.join(ARCH_COMPATIBILITY)}",
            package_id=manifest.package_id,
        )
    candidates: list[tuple[tuple[int, ...], Installer, list[str]]] = []
    rejected: list[tuple[int, str]] = []
    for installer in manifest.installers:
        kind = installer.effective_type
        if installer.installer_type == "msstore":
            rejected.append((installer.index, "Microsoft Store installers cannot be packaged"))
            continue
        if installer.architecture not in arch_order:
            rejected.append(
                (installer.index, f"architecture {installer.architecture} cannot run on {requirements.architecture}")
            )
            continue
        if requirements.scope and installer.scope and installer.scope != requirements.scope:
            rejected.append((installer.index, f"scope {installer.scope} is not {requirements.scope}"))
            continue
        if kind not in requirements.installer_types and installer.installer_type not in requirements.installer_types:
            rejected.append((installer.index, f"installer type {kind} is not accepted"))
            continue
        type_rank = min(
            requirements.installer_types.index(t)
            for t in (kind, installer.installer_type)
            if t in requirements.installer_types
        )
        locale_rank, locale_reason = _locale_rank(installer, requirements.locale)
        scope_rank = 0 if (requirements.scope is None or installer.scope == requirements.scope) else 1
        reasons = [
            f"architecture {installer.architecture}"
            + (" (exact)" if installer.architecture == requirements.architecture else " (compatible)"),
            f"scope {installer.scope or 'unspecified'}",
            locale_reason,
            f"type {kind} (preference {type_rank + 1})",
        ]
        key = (arch_order.index(installer.architecture), scope_rank, locale_rank, type_rank, installer.index)
        candidates.append((key, installer, reasons))
    if not candidates:
        raise NoSuitableInstaller(
            f"package {manifest.package_id} {manifest.version}: no installer fits architecture "
            f"{requirements.architecture}, scope {requirements.scope or 'any'}, "
            f"types {', '.join(requirements.installer_types)}",
            package_id=manifest.package_id,
        )
    candidates.sort(key=lambda item: item[0])
    best_key, best, reasons = candidates[0]
    for key, installer, _ in candidates[1:]:
        labels = ("architecture", "scope", "locale", "type preference", "manifest order")
        first_difference = next(i for i in range(len(key)) if key[i] != best_key[i])
        rejected.append((installer.index, f"ranked lower on {labels[first_difference]}"))
    rejected.sort()
    return InstallerChoice(best, tuple(reasons), tuple(rejected))
