"""Every MSIX/APPX vector gives the result recorded in tests/data/winget/expected_winget.json (and README)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from greenlight.winget import appx, pkcs7
from greenlight.winget.chain import validate_chain
from greenlight.winget.errors import (
    AppxDigestMismatch,
    BlockMapMismatch,
    MalformedPackage,
    MissingSignature,
    PublisherMismatch,
    TimestampInvalid,
    UnsupportedIndexSchema,
    UntrustedCertificateChain,
)
from greenlight.winget.msix import check_signature_last, verify_msix
from greenlight.winget.source import open_source_file
from greenlight.winget.trust import CODE_SIGNING_EKU, load_certificates, microsoft_policy
from greenlight.winget.zipview import ZipView
from tests.unit.winget.conftest import EXPECTED, VECTORS, vector_policy

COPIED = sorted(name for name in EXPECTED if not name.startswith("real-source-v1/"))
SIGNED = [name for name in COPIED if EXPECTED[name]["signed"]]


def _read(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


@pytest.mark.parametrize("name", COPIED)
def test_vector_file_is_the_recorded_one(name: str) -> None:
    data = _read(name)
    assert len(data) == EXPECTED[name]["size"]
    assert hashlib.sha256(data).hexdigest() == EXPECTED[name]["sha256"]


@pytest.mark.parametrize("name", SIGNED)
def test_each_appx_digest_component_matches_exactly_as_recorded(name: str) -> None:
    view = ZipView(_read(name), max_total_uncompressed=1 << 30)
    info = pkcs7.parse_p7x(view.read(appx.SIGNATURE_NAME, pkcs7.MAX_P7X))
    signed = appx.parse_digest_blob(info.appx_digest, 32)
    actual = appx.compute_digests(view, info.digest_algorithm)
    matches = {tag: signed[tag] == actual[tag] for tag in signed}
    assert matches == EXPECTED[name]["appx_digest_components"]


DIGEST_FAILURES = [name for name in SIGNED if not EXPECTED[name]["appx_digest_match"]]


@pytest.mark.parametrize("name", DIGEST_FAILURES)
def test_tampered_packages_fail_on_exactly_the_tampered_components(name: str) -> None:
    expected_bad = [tag for tag, ok in EXPECTED[name]["appx_digest_components"].items() if not ok]
    with pytest.raises(AppxDigestMismatch) as failure:
        verify_msix(_read(name), vector_policy())
    assert failure.value.components == expected_bad
    for tag in expected_bad:  # the message carries both hashes of each broken component
        signed, actual = failure.value.details[tag]
        assert signed in str(failure.value) and actual in str(failure.value) and signed != actual


def test_signature_not_last_is_refused_on_layout_alone() -> None:
    view = ZipView(_read("msix-packaging/SignatureNotLastPart-ERROR_BAD_FORMAT.appx"), max_total_uncompressed=1 << 30)
    with pytest.raises(MalformedPackage, match="not the last entry"):
        check_signature_last(view)


@pytest.mark.parametrize(
    ("name", "file_name"),
    [
        ("msix-packaging/Extra_file_in_blockmap.msix", "App1.exe"),
        ("msix-packaging/File_missing_from_blockmap.msix", "App1.exe"),
        ("msix-packaging/Invalid_Bad_Block.msix", "App1.dll"),
        ("msix-packaging/Size_wrong_uncompressed.msix", "Assets/LockScreenLogo.scale-200.png"),
    ],
)
def test_block_map_failures_name_the_offending_file(name: str, file_name: str) -> None:
    with pytest.raises(BlockMapMismatch) as failure:
        verify_msix(_read(name), None, waive_signature=True)
    assert failure.value.file_name == file_name


@pytest.mark.parametrize("name", [n for n in COPIED if not EXPECTED[n]["signed"] and EXPECTED[n]["blockmap"] == "ok"])
def test_unsigned_packages_with_a_good_block_map_pass_when_the_signature_is_waived(name: str) -> None:
    result = verify_msix(_read(name), None, waive_signature=True)
    assert result.signed is False and result.trust == "waived"


@pytest.mark.parametrize("name", [n for n in COPIED if not EXPECTED[n]["signed"]])
def test_unsigned_packages_are_refused_when_a_signature_is_required(name: str) -> None:
    with pytest.raises((MissingSignature, MalformedPackage)):
        verify_msix(_read(name), microsoft_policy())


def test_codeintegrity_without_signature_is_a_missing_required_file() -> None:
    with pytest.raises(MalformedPackage, match=r"CodeIntegrity\.cat but no AppxSignature\.p7x"):
        verify_msix(_read("msix-packaging/UnsignedZip64WithCI-APPX_E_MISSING_REQUIRED_FILE.appx"), microsoft_policy())


def test_mismatched_publisher_is_refused() -> None:
    with pytest.raises(PublisherMismatch, match="CN=Mismatched Publisher"):
        verify_msix(_read("msix-packaging/SignedMismatchedPublisherName-ERROR_BAD_FORMAT.appx"), vector_policy())


@pytest.mark.parametrize(
    "name",
    [
        "msix-packaging/SignedUntrustedCert-CERT_E_CHAINING.appx",
        "winget-cli/index.1.0.0.0.signed.msix",
        "winget-cli/index.2.0.0.0.signed.msix",
    ],
)
def test_self_signed_or_foreign_chains_do_not_reach_the_pinned_root(name: str) -> None:
    with pytest.raises(UntrustedCertificateChain, match="no trusted issuer"):
        verify_msix(_read(name), vector_policy())


def test_signed_installer_is_untrusted_and_its_certificate_valid_only_in_its_period() -> None:
    data = _read("winget-cli/Installer-Signed-Good.msix")
    inside = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(UntrustedCertificateChain, match="no trusted issuer"):
        verify_msix(data, vector_policy(at_time=inside))
    view = ZipView(data, max_total_uncompressed=1 << 30)
    signer = pkcs7.parse_p7x(view.read(appx.SIGNATURE_NAME, pkcs7.MAX_P7X)).signer
    # Trusting the self-signed certificate itself: valid inside its validity period, refused after it.
    trusted = vector_policy(signing_roots=(signer,), leaf_ekus=(), at_time=inside)
    assert verify_msix(data, trusted).signed
    with pytest.raises(UntrustedCertificateChain, match="not valid at"):
        verify_msix(data, vector_policy(signing_roots=(signer,), leaf_ekus=(), at_time=dt.datetime.now(dt.UTC)))


def test_test_signed_app_verifies_with_five_digest_parts_against_appx_test_root() -> None:
    root = load_certificates(VECTORS / "certs" / "APPX_TEST_ROOT.cer")
    result = verify_msix(_read("winget-cli/TestSignedApp.msix"), vector_policy(signing_roots=root, leaf_ekus=()))
    assert result.digest_components == ["AXBM", "AXCD", "AXCI", "AXCT", "AXPC"]
    assert result.signer_chain[-1] == "CN=APPX_TEST_ROOT"
    assert result.signed_at is None


def test_the_source_policy_refuses_a_signature_without_timestamp() -> None:
    root = load_certificates(VECTORS / "certs" / "APPX_TEST_ROOT.cer")
    policy = vector_policy(signing_roots=root, leaf_ekus=(), require_timestamp=True)
    with pytest.raises(TimestampInvalid, match="no RFC 3161 timestamp"):
        verify_msix(_read("winget-cli/TestSignedApp.msix"), policy)


def test_v2_builder_identity_is_not_the_winget_source() -> None:
    view = ZipView(_read("v2-builder/source2.msix"), max_total_uncompressed=1 << 30)
    identity = appx.parse_identity(view.read(appx.MANIFEST_NAME, appx.MAX_XML))
    assert identity.name == "Winget.Source.Builder.Index"
    assert identity.family_name != "Microsoft.Winget.Source_8wekyb3d8bbwe"


def test_publisher_id_of_microsoft_is_8wekyb3d8bbwe() -> None:
    publisher = "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US"
    assert appx.publisher_id(publisher) == "8wekyb3d8bbwe"


# ---------------------------------------------------------------- the genuine Microsoft-signed source


def test_genuine_microsoft_source_verifies_completely(real_source_dir, tmp_path) -> None:
    source = open_source_file(real_source_dir / "lyj0309-winget-sync_source.msix", microsoft_policy(), tmp_path)
    verified = source.verified
    assert verified.identity.family_name == "Microsoft.Winget.Source_8wekyb3d8bbwe"
    assert verified.identity.version == "2022.110.1704.949"
    assert verified.signed_at == dt.datetime(2022, 1, 10, 16, 5, 15, 367000, tzinfo=dt.UTC)
    assert [name.split(",")[0] for name in verified.signer_chain] == [
        "CN=Microsoft Corporation",
        "CN=Microsoft Marketplace CA G 028",
        "CN=Microsoft MarketPlace PCA 2011",
        "CN=Microsoft Root Certificate Authority 2011",
    ]
    assert [name.split(",")[0] for name in verified.timestamp_chain] == [
        "CN=Microsoft Time-Stamp Service",
        "CN=Microsoft Time-Stamp PCA 2010",
        "CN=Microsoft Root Certificate Authority 2010",
    ]
    assert source.index.schema == "1.3" and len(source.index) == 3062
    with pytest.raises(UnsupportedIndexSchema):  # V1 verifies, but lookups need schema 2
        source.index.get("7zip.7zip")


def test_genuine_source_leaf_is_valid_only_at_the_timestamp_time(real_source_dir) -> None:
    view = ZipView((real_source_dir / "lyj0309-winget-sync_source.msix").read_bytes(), max_total_uncompressed=1 << 30)
    info = pkcs7.parse_p7x(view.read(appx.SIGNATURE_NAME, pkcs7.MAX_P7X))
    roots = microsoft_policy().signing_roots
    with pytest.raises(UntrustedCertificateChain, match="not valid at"):
        validate_chain(info.signer, info.certificates, roots, dt.datetime.now(dt.UTC), (CODE_SIGNING_EKU,), "signer")


def test_genuine_source_is_untrusted_under_another_anchor(real_source_dir, sandbox_policy) -> None:
    with pytest.raises(UntrustedCertificateChain):
        verify_msix((real_source_dir / "lyj0309-winget-sync_source.msix").read_bytes(), sandbox_policy)


def test_rezipped_index_swapped_source_fails_on_axpc_and_axcd(real_source_dir) -> None:
    data = (real_source_dir / "ArchiveOfAnything-wingetrepos_source_TAMPERED.msix").read_bytes()
    with pytest.raises(AppxDigestMismatch) as failure:
        verify_msix(data, microsoft_policy())
    assert failure.value.components == ["AXPC", "AXCD"]
