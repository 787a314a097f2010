"""The verification chain against the sandbox CDN over real HTTPS: the genuine source, then one tampered
variant per link, each of which must stop with its own named error."""

from __future__ import annotations

import io

import httpx
import pytest

from greenlight.winget.catalog import CatalogUnavailable, get_catalog, open_catalog
from greenlight.winget.errors import (
    AppxDigestMismatch,
    HostileInput,
    InstallerHashMismatch,
    ManifestHashMismatch,
    NotInIndex,
    SourceRollback,
    UntrustedCertificateChain,
    Unverifiable,
    VersionDataHashMismatch,
)
from greenlight.winget.hashchain import HashChain
from greenlight.winget.installer_select import Requirements, choose_installer


def test_the_genuine_sandbox_source_verifies_and_searches(good_catalog) -> None:
    assert good_catalog.source.verified.identity.family_name == "Microsoft.Winget.Source_8wekyb3d8bbwe"
    results = good_catalog.search("notes")
    assert results[0].package_id == "Contoso.Notes" and results[0].version == "2.0.0"
    assert good_catalog.search("7zip")[0].package_id == "7zip.7zip"


def test_package_details_come_from_the_verified_chain(good_catalog) -> None:
    details = good_catalog.package("Contoso.Notes")
    assert details.versions == ["2.0.0", "1.2.0", "1.0.0"]
    assert details.publisher == "Contoso Ltd." and details.description.startswith("Take notes")
    assert len(details.manifest_sha256) == 64
    assert good_catalog.package("No.Such.Package") is None


def test_a_specific_version_and_its_installer_download_verify(good_catalog) -> None:
    verified = good_catalog.verified_manifest("Contoso.Notes", "1.2.0")
    assert verified.manifest.version == "1.2.0"
    choice = choose_installer(verified.manifest, Requirements(architecture="x64"))
    sink = io.BytesIO()
    size = good_catalog.download_installer(choice.installer, sink, package_id="Contoso.Notes")
    assert size == len(sink.getvalue()) > 0


def test_the_cdn_answers_not_modified_to_the_recorded_etag(good_catalog, winget) -> None:
    settings = winget("good")
    client = good_catalog.chain.client
    url = f"{settings.source_url}/source2.msix"
    first = client.get(url, what="source2.msix", max_bytes=1 << 26)
    again = client.get(url, what="source2.msix", max_bytes=1 << 26, etag=first.etag)
    assert first.content and again.content is None
    assert first.headers["x-ms-meta-sourceversion"] == good_catalog.source_version


def test_head_reports_the_source_version_and_oversized_bodies_are_refused(good_catalog, winget) -> None:
    url = f"{winget('good').source_url}/source2.msix"
    head = httpx.head(url, verify=winget.env["GREENLIGHT_CA_BUNDLE"])
    assert head.headers["x-ms-meta-sourceversion"] == good_catalog.source_version
    with pytest.raises(HostileInput, match="limit is 1000"):
        good_catalog.chain.client.get(url, what="source2.msix", max_bytes=1000)


def test_named_hosts_are_pinned_to_the_checked_address_with_tls_still_verified(sandbox, winget) -> None:
    from greenlight.winget.fetch import CdnClient

    port = sandbox.base_url.rsplit(":", 1)[1]
    client = CdnClient(allowed_hosts=frozenset({"localhost"}), allow_loopback=True, ca_bundle=str(sandbox.ca_file))
    try:
        fetched = client.get(f"https://localhost:{port}/winget/source2.msix", what="source2.msix", max_bytes=1 << 26)
        assert fetched.content and fetched.content[:2] == b"PK"
        # The pinned connection verifies the certificate against the name, not the address it connected to.
        with pytest.raises(httpx.ConnectError, match="certificate"):
            client._client_for("wrong.example").get(
                f"https://127.0.0.1:{port}/health", extensions={"sni_hostname": "wrong.example"}
            )
    finally:
        client.close()


def test_a_second_process_reuses_the_verified_cache(winget, tmp_path) -> None:
    first = open_catalog(winget("good", tmp_path))
    second = open_catalog(winget("good", tmp_path))
    assert second.source_version == first.source_version
    assert second.source.msix_sha256 == first.source.msix_sha256


def test_a_missing_package_is_not_in_index_with_a_near_miss_hint(good_catalog) -> None:
    with pytest.raises(NotInIndex, match=r"did you mean Contoso\.Notes"):
        good_catalog.verified_manifest("contoso.notes")


def test_a_traversal_id_is_refused_before_any_request(good_catalog) -> None:
    with pytest.raises(HostileInput):
        good_catalog.package("../../source2.msix")


# ---------------------------------------------------------------- tampered variants


def test_changed_index_row_stops_at_the_package_digest(winget) -> None:
    with pytest.raises(CatalogUnavailable) as failure:
        open_catalog(winget("index-row"))
    assert isinstance(failure.value.__cause__, AppxDigestMismatch)
    assert "AXPC" in failure.value.__cause__.components


def test_untrusted_ca_stops_at_the_certificate_chain(winget) -> None:
    with pytest.raises(CatalogUnavailable) as failure:
        open_catalog(winget("untrusted-ca"))
    assert isinstance(failure.value.__cause__, UntrustedCertificateChain)


def test_an_older_source_is_a_rollback(winget, tmp_path) -> None:
    open_catalog(winget("good", tmp_path))
    with pytest.raises(CatalogUnavailable) as failure:
        open_catalog(winget("older", tmp_path))
    assert isinstance(failure.value.__cause__, SourceRollback)


def test_changed_version_data_stops_at_its_hash(winget) -> None:
    catalog = open_catalog(winget("versiondata"))
    with pytest.raises(VersionDataHashMismatch) as failure:
        catalog.package("Contoso.Notes")
    error = failure.value
    row = catalog.source.index.get("Contoso.Notes")
    assert error.package_id == "Contoso.Notes" and error.link == "versionData"
    assert error.expected == row.hash and error.actual != error.expected
    assert error.expected in str(error) and error.actual in str(error) and "Contoso.Notes" in str(error)


def test_changed_manifest_stops_at_its_hash(winget) -> None:
    catalog = open_catalog(winget("manifest"))
    with pytest.raises(ManifestHashMismatch) as failure:
        catalog.verified_manifest("Git.Git")
    assert failure.value.link == "manifest" and failure.value.package_id == "Git.Git"


def test_changed_installer_stops_at_its_hash(winget) -> None:
    catalog = open_catalog(winget("installer"))
    verified = catalog.verified_manifest("Fabrikam.Toolkit")  # the chain itself is intact
    installer = verified.manifest.installers[0]
    with pytest.raises(InstallerHashMismatch) as failure:
        catalog.download_installer(installer, io.BytesIO(), package_id="Fabrikam.Toolkit")
    assert failure.value.expected == installer.sha256


def test_a_streamed_wrong_installer_fails_before_the_stream_completes(winget) -> None:
    catalog = open_catalog(winget("installer"))
    installer = catalog.verified_manifest("Contoso.Notes").manifest.installers[0]
    received = []
    committed = False
    with pytest.raises(InstallerHashMismatch):
        for chunk in catalog.iter_installer(installer, package_id="Contoso.Notes"):
            received.append(chunk)
        committed = True  # what a block-list upload does only after the last chunk
    assert received and not committed


def test_installer_redirects_are_followed_and_each_hop_is_checked(good_catalog, sandbox) -> None:
    from dataclasses import replace
    from urllib.parse import quote

    from greenlight.winget.errors import UnsafeUrl

    installer = good_catalog.verified_manifest("Greenlight.SampleApp").manifest.installers[0]
    via = replace(installer, url=f"{sandbox.winget_url}/_sandbox/redirect?to={quote(installer.url, safe='')}")
    assert good_catalog.download_installer(via, io.BytesIO(), package_id="Greenlight.SampleApp") > 0
    for target in ("http://127.0.0.1/x.exe", "https://10.1.2.3/x.exe"):
        hop = replace(installer, url=f"{sandbox.winget_url}/_sandbox/redirect?to={quote(target, safe='')}")
        with pytest.raises(UnsafeUrl):
            good_catalog.download_installer(hop, io.BytesIO(), package_id="Greenlight.SampleApp")


def test_installer_host_allowlist_is_enforced(winget, good_catalog) -> None:
    from greenlight.winget.errors import UnsafeUrl

    restricted = type(good_catalog)(good_catalog.source, good_catalog.chain, frozenset({"downloads.example.com"}))
    installer = good_catalog.verified_manifest("Greenlight.SampleApp").manifest.installers[0]
    with pytest.raises(UnsafeUrl, match="not in the allowed hosts"):
        restricted.download_installer(installer, io.BytesIO(), package_id="Greenlight.SampleApp")


def test_a_cdn_404_is_unverifiable_not_tampered(good_catalog, sandbox) -> None:
    source = good_catalog.source
    missing = type(source)(source.verified, source.index, f"{sandbox.winget_url}/v/nowhere", source.msix_sha256)
    chain = HashChain(missing, good_catalog.chain.client, allow_loopback=True)
    with pytest.raises(Unverifiable, match="404") as failure:
        chain.manifest("Contoso.Notes")
    assert failure.value.code == "unverifiable_retry_later"


def test_the_cdn_refuses_paths_outside_its_tree(sandbox) -> None:
    response = httpx.get(f"{sandbox.winget_url}/%2E%2E/%2E%2E/tls/server-key.pem", verify=str(sandbox.ca_file))
    assert response.status_code == 404


def test_get_catalog_works_from_the_local_stack_settings(catalog_env) -> None:
    """What BOT's `search` command calls."""
    results = get_catalog().search("firefox")
    assert results[0].package_id == "Mozilla.Firefox"
    assert get_catalog() is get_catalog()


def test_get_catalog_works_with_exactly_the_make_run_environment(sandbox, azurite, monkeypatch, tmp_path) -> None:
    """scripts/stack.py's environment, unchanged: the trust anchor is found next to the sandbox CA."""
    from greenlight.winget.catalog import reset_catalog
    from scripts.stack import local_app_environment

    env = local_app_environment(azurite.connection_string, sandbox.base_url, sandbox.ca_file)
    for name in ("GREENLIGHT_WINGET_TRUST", "GREENLIGHT_WINGET_SOURCE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GREENLIGHT_WINGET_CACHE_DIR", str(tmp_path))
    reset_catalog()
    try:
        catalog = get_catalog()
        assert catalog.search("terminal")[0].package_id == "Microsoft.WindowsTerminal"
        trust_file, _, content_digest = catalog.source.verified.trust.partition("#")
        assert trust_file == str((sandbox.state_dir / "winget" / "source-signing-root.pem").resolve())
        assert len(content_digest) == 16
    finally:
        reset_catalog()


def test_a_periodic_refresh_keeps_the_catalog_when_the_cdn_says_not_modified(catalog_env) -> None:
    from greenlight.winget import catalog as catalog_module

    first = get_catalog()
    catalog_module._holder._checked -= 24 * 3600  # pretend the refresh interval has passed
    stale_mark = catalog_module._holder._checked
    assert get_catalog() is first  # conditional GET answered 304: same verified catalog, nothing re-verified
    assert catalog_module._holder._checked > stale_mark  # a refresh did happen
