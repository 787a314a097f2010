"""`python -m greenlight winget verify-source | search | show` for admins and scripts.

Exit codes: 0 verified / found; 1 not found (not in index, no such version); 2 verification failed (tampered,
untrusted, malformed, rollback); 3 unverifiable right now (CDN unreachable, name not resolving, HTTP error: retry
later); 4 configuration error or an unreadable input file.

`verify-source` trusts what the app trusts (GREENLIGHT_WINGET_TRUST, and locally the sandbox's root found next to
GREENLIGHT_CA_BUNDLE) unless `--trust` says otherwise, so it verifies the sandbox `make run` starts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from greenlight.numbers import ascii_int
from greenlight.settings import SettingsError, is_local
from greenlight.winget.catalog import CatalogUnavailable, get_catalog
from greenlight.winget.errors import NotInIndex, Unverifiable, VersionNotFound, WingetError
from greenlight.winget.fetch import CdnClient
from greenlight.winget.index import SourceIndex
from greenlight.winget.installer_select import ARCH_COMPATIBILITY, Requirements, choose_installer
from greenlight.winget.msix import MAX_MSIX
from greenlight.winget.settings import WingetSettings
from greenlight.winget.source import OpenSource, open_source_file, verify_and_extract
from greenlight.winget.trust import TrustConfigurationError, TrustPolicy, policy_for


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    winget = subparsers.add_parser("winget", help="verify the signed WinGet source, search it, show packages")
    commands = winget.add_subparsers(dest="winget_command", required=True)

    verify = commands.add_parser("verify-source", help="verify a source.msix / source2.msix file or URL completely")
    verify.add_argument("location", help="a file path, a CDN base URL or the URL of source2.msix")
    verify.add_argument(
        "--trust",
        help="'microsoft' (pinned roots) or a PEM file of roots; default: GREENLIGHT_WINGET_TRUST as the app reads it",
    )
    verify.set_defaults(handler=_verify_source)

    search = commands.add_parser("search", help="search the verified catalog by id, name, moniker, tag, command")
    search.add_argument("text")
    search.add_argument("--limit", type=_limit, default=20, help="1-100 (default 20)")
    search.set_defaults(handler=_search)

    show = commands.add_parser("show", help="print a package's verified manifest and the installer Greenlight picks")
    show.add_argument("package_id")
    show.add_argument("--version")
    show.add_argument("--architecture", default="x64", choices=sorted(ARCH_COMPATIBILITY))
    show.add_argument("--scope", choices=("user", "machine"))
    show.add_argument("--locale")
    show.set_defaults(handler=_show)


def _limit(text: str) -> int:
    value = ascii_int(text, 3)
    if value is None or not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 100")
    return value


def _fail(error: Exception) -> int:
    code = getattr(error, "code", "error")
    print(f"FAILED [{code}]: {error}", file=sys.stderr)
    if isinstance(error, SettingsError | TrustConfigurationError):
        return 4
    if isinstance(error, NotInIndex | VersionNotFound):
        return 1
    cause = error.__cause__ if isinstance(error, CatalogUnavailable) else error
    if isinstance(cause, Unverifiable):
        return 3
    return 2


def _verify_source(args: argparse.Namespace) -> int:
    try:
        policy = policy_for(args.trust or WingetSettings.from_env().trust)
        with tempfile.TemporaryDirectory(prefix="greenlight-verify-") as tmp:
            if args.location.startswith(("https://", "http://")):
                source = _verify_url(args.location, policy, Path(tmp))
            else:
                source = open_source_file(Path(args.location), policy, Path(tmp))
            verified = source.verified
            print(f"VERIFIED {verified.identity.name} {verified.identity.version} ({verified.identity.family_name})")
            print(f"  signed at     {verified.signed_at.isoformat() if verified.signed_at else 'no timestamp'}")
            print(f"  signer chain  {' <- '.join(verified.signer_chain)}")
            print(f"  timestamp     {' <- '.join(verified.timestamp_chain) or '-'}")
            print(f"  APPX digests  {', '.join(verified.digest_components)} match; block map matches")
            print(f"  trust         {verified.trust}")
            print(f"  index         schema {source.index.schema}, {len(source.index)} packages")
            source.index.close()
        return 0
    except (WingetError, SettingsError) as error:
        return _fail(error)
    except OSError as error:  # a missing or unreadable file (source or --trust)
        print(f"FAILED [unreadable_input]: {error.strerror}: {error.filename}", file=sys.stderr)
        return 4


def _verify_url(url: str, policy: TrustPolicy, workdir: Path) -> OpenSource:
    settings = WingetSettings.from_env()
    if not url.endswith(".msix"):
        url = f"{url.rstrip('/')}/source2.msix"
    host = (urlsplit(url).hostname or "").lower()
    client = CdnClient(allowed_hosts=frozenset({host}), allow_loopback=is_local(), ca_bundle=settings.ca_bundle)
    try:
        fetched = client.get(url, what="source package", max_bytes=MAX_MSIX)
    finally:
        client.close()
    assert fetched.content is not None
    verified, _ = verify_and_extract(fetched.content, policy, workdir / "index.db")
    return OpenSource(verified, SourceIndex(workdir / "index.db"), url.rsplit("/", 1)[0], "")


def _search(args: argparse.Namespace) -> int:
    try:
        results = get_catalog().search(args.text, args.limit)
    except (WingetError, SettingsError) as error:
        return _fail(error)
    if not results:
        print(f"no packages match {args.text!r}")
        return 1
    width = max(len(r.package_id) for r in results)
    for entry in results:
        print(f"{entry.package_id:<{width}}  {entry.version:<16}  {entry.name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        catalog = get_catalog()
        verified = catalog.verified_manifest(args.package_id, args.version)
        choice = choose_installer(
            verified.manifest, Requirements(architecture=args.architecture, scope=args.scope, locale=args.locale)
        )
    except (WingetError, SettingsError) as error:
        return _fail(error)
    print(
        f"# {verified.manifest.package_id} {verified.manifest.version} — verified against source "
        f"{verified.source_version}"
    )
    print(f"# versionData sha256 {verified.version_data_sha256}; manifest sha256 {verified.manifest_sha256}")
    print(verified.raw.decode("utf-8", "replace").rstrip())
    installer = choice.installer
    print("\n# chosen installer")
    print(f"#   {installer.architecture} {installer.effective_type} scope={installer.scope or 'any'}")
    print(f"#   {installer.url}")
    print(f"#   sha256 {installer.sha256}")
    for line in choice.explain().splitlines():
        print(f"#   {line}")
    return 0
