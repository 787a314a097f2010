"""WinGet settings (README settings table, `<!-- settings:winget -->`)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from greenlight.settings import EnvReader, SettingsError

MICROSOFT_CDN = "https://cdn.winget.microsoft.com/cache"
SANDBOX_ROOT_NAME = "source-signing-root.pem"  # written by the sandbox into STATE_DIR/winget/


@dataclass(frozen=True)
class WingetSettings:
    source_url: str  # base URL: <base>/source2.msix, <base>/packages/..., <base>/manifests/...
    trust: str  # "microsoft" or a path to PEM root certificates (local only)
    cache_dir: Path
    refresh_minutes: int
    ca_bundle: str | None  # TLS trust for the CDN connection (local: the sandbox CA); None = system store
    local: bool  # GREENLIGHT_ENV=local: loopback URLs allowed
    installer_hosts: frozenset[str] | None  # optional allowlist for installer downloads
    shared_cache: bool = False  # share the verified source2.msix through blob storage (winget-cache/)
    max_age_days: int = 30  # refuse a source signed longer ago (0: no limit)

    @property
    def cdn_hosts(self) -> frozenset[str]:
        return frozenset({(urlsplit(self.source_url).hostname or "").lower()})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WingetSettings:
        reader = EnvReader(env)
        local = reader.environment().value == "local"
        sandbox = reader.optional("GREENLIGHT_SANDBOX_URL") if local else None
        default_url = f"{sandbox.rstrip('/')}/winget" if sandbox else MICROSOFT_CDN
        source_url = reader.url("GREENLIGHT_WINGET_SOURCE_URL", default_url, allow_http_loopback=False)
        ca_bundle = reader.optional("GREENLIGHT_CA_BUNDLE")
        trust = reader.optional("GREENLIGHT_WINGET_TRUST")
        if trust is None:
            trust = "microsoft"
            # Local stack without an explicit anchor: the sandbox keeps its signing root next to its TLS CA
            # (STATE_DIR/tls/ca.pem -> STATE_DIR/winget/source-signing-root.pem).
            if local and sandbox and ca_bundle:
                candidate = Path(ca_bundle).resolve().parent.parent / "winget" / SANDBOX_ROOT_NAME
                if candidate.exists():
                    trust = str(candidate)
        if trust.lower() != "microsoft":
            if not local:
                raise SettingsError(
                    "GREENLIGHT_WINGET_TRUST may only name a certificate file when GREENLIGHT_ENV=local; "
                    "production trusts the pinned Microsoft roots"
                )
            if not Path(trust).expanduser().is_file():
                raise SettingsError(f"GREENLIGHT_WINGET_TRUST names {trust!r}, which is not a file")
        cache_dir = Path(
            reader.string("GREENLIGHT_WINGET_CACHE_DIR", str(Path(tempfile.gettempdir()) / "greenlight-winget"))
        )
        hosts = reader.string_list("GREENLIGHT_WINGET_INSTALLER_HOSTS")
        return cls(
            source_url=source_url,
            trust=trust,
            cache_dir=cache_dir,
            refresh_minutes=reader.integer("GREENLIGHT_WINGET_REFRESH_MINUTES", 15, minimum=1, maximum=1440),
            ca_bundle=ca_bundle,
            local=local,
            installer_hosts=frozenset(h.lower() for h in hosts) if hosts else None,
            shared_cache=reader.boolean("GREENLIGHT_WINGET_SHARED_CACHE", not local),
            max_age_days=reader.integer("GREENLIGHT_WINGET_MAX_AGE_DAYS", 30, minimum=0, maximum=3650),
        )
