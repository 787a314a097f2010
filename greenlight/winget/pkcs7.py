"""The Authenticode-style PKCS#7 in AppxSignature.p7x: structure, signed attributes, RSA signature, timestamp.

asn1crypto parses; cryptography verifies. The SPC structures are declared here because asn1crypto's
EncapsulatedContentInfo insists on an OCTET STRING where Authenticode puts a SEQUENCE (reference §4.3, §7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from greenlight.winget.errors import MalformedPackage, MissingSignature, SignatureInvalid, TimestampInvalid

P7X_MAGIC = b"PKCX"
SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
SPC_SIP_INFO = "1.3.6.1.4.1.311.2.1.30"
APPX_SIP_GUID = bytes.fromhex("4BDFC50A07CEE24DB76E23C839A09FD1")
APPX_BUNDLE_SIP_GUID = bytes.fromhex("B3585F0FDEAA9A4BA43495742D92ECEB")
MS_TIMESTAMP_ATTR = "1.3.6.1.4.1.311.3.3.1"
MAX_P7X = 1024 * 1024

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha1": hashes.SHA1}


class SpcSipInfo(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("version", core.Integer),
        ("uuid", core.OctetString),
        ("reserved1", core.Integer),
        ("reserved2", core.Integer),
        ("reserved3", core.Integer),
        ("reserved4", core.Integer),
        ("reserved5", core.Integer),
    ]


class SpcAttributeTypeAndOptionalValue(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("value", core.Any, {"optional": True})]  # noqa: RUF012


class DigestInfo(core.Sequence):
    _fields = [("digest_algorithm", algos.DigestAlgorithm), ("digest", core.OctetString)]  # noqa: RUF012


class SpcIndirectDataContent(core.Sequence):
    _fields = [("data", SpcAttributeTypeAndOptionalValue), ("message_digest", DigestInfo)]  # noqa: RUF012


class SpcEncapContentInfo(core.Sequence):
    _fields = [  # noqa: RUF012
        ("content_type", cms.ContentType),
        ("content", SpcIndirectDataContent, {"explicit": 0}),
    ]


class SpcSignedData(core.Sequence):
    _fields = [  # noqa: RUF012
        ("version", cms.CMSVersion),
        ("digest_algorithms", cms.DigestAlgorithms),
        ("encap_content_info", SpcEncapContentInfo),
        ("certificates", cms.CertificateSet, {"implicit": 0, "optional": True}),
        ("crls", cms.RevocationInfoChoices, {"implicit": 1, "optional": True}),
        ("signer_infos", cms.SignerInfos),
    ]


class SpcContentInfo(core.Sequence):
    _fields = [("content_type", cms.ContentType), ("content", SpcSignedData, {"explicit": 0})]  # noqa: RUF012


@dataclass(frozen=True)
class SignatureInfo:
    """What the p7x says, after its own internal consistency has been checked."""

    digest_algorithm: str
    appx_digest: bytes
    signer: x509.Certificate
    certificates: list[x509.Certificate]
    signed_attrs_der: bytes  # re-tagged as SET: the bytes the signature covers
    signature: bytes
    signer_info: cms.SignerInfo


@dataclass(frozen=True)
class Timestamp:
    time: dt.datetime
    signer: x509.Certificate
    certificates: list[x509.Certificate]


def parse_p7x(data: bytes) -> SignatureInfo:
    if len(data) > MAX_P7X:
        raise MalformedPackage(f"AppxSignature.p7x is {len(data)} bytes; refused")
    if data[:4] != P7X_MAGIC:
        raise SignatureInvalid("AppxSignature.p7x does not start with the PKCX magic", link="signature")
    try:
        info = SpcContentInfo.load(data[4:], strict=True)
        if info["content_type"].native != "signed_data":
            raise SignatureInvalid("AppxSignature.p7x is not PKCS#7 SignedData", link="signature")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != SPC_INDIRECT_DATA:
            raise SignatureInvalid("signed content is not SPC_INDIRECT_DATA", link="signature")
        if signed["version"].native != "v1":
            raise SignatureInvalid("SignedData version must be 1", link="signature")
        indirect = encap["content"]
        data_attr = indirect["data"]
        if data_attr["type"].dotted != SPC_SIP_INFO:
            raise SignatureInvalid("SpcIndirectDataContent does not carry SpcSipInfo", link="signature")
        sip = SpcSipInfo.load(data_attr["value"].dump())
        guid = sip["uuid"].native
        if guid == APPX_BUNDLE_SIP_GUID:
            raise SignatureInvalid("the signature is for an APPX bundle, not a package", link="signature")
        if guid != APPX_SIP_GUID:
            raise SignatureInvalid("SpcSipInfo GUID is not the APPX GUID", link="signature")
        digest_algorithm = indirect["message_digest"]["digest_algorithm"]["algorithm"].native
        appx_digest = indirect["message_digest"]["digest"].native
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise SignatureInvalid(f"expected exactly one SignerInfo, found {len(signer_infos)}", link="signature")
        signer_info = signer_infos[0]
        certificates = _certificates(signed["certificates"])
        signer = _find_signer(signer_info, certificates)
        signed_attrs = signer_info["signed_attrs"]
        if isinstance(signed_attrs, core.Void) or len(signed_attrs) == 0:
            raise SignatureInvalid("SignerInfo has no signed attributes", link="signature")
        attrs = {a["type"].native: a["values"] for a in signed_attrs}
        if attrs.get("content_type") is None or attrs["content_type"][0].dotted != SPC_INDIRECT_DATA:
            raise SignatureInvalid("signed contentType attribute is not SPC_INDIRECT_DATA", link="signature")
        signer_digest = signer_info["digest_algorithm"]["algorithm"].native
        if signer_digest not in _HASHES or signer_digest == "sha1":
            raise SignatureInvalid(f"signer digest algorithm {signer_digest} is not accepted", link="signature")
        expected = hashlib.new(signer_digest, indirect.contents).digest()
        if attrs.get("message_digest") is None or attrs["message_digest"][0].native != expected:
            raise SignatureInvalid(
                "messageDigest attribute does not match SpcIndirectDataContent (signed content altered)",
                link="signature",
            )
        signed_attrs_der = b"\x31" + signed_attrs.dump()[1:]
        return SignatureInfo(
            digest_algorithm=digest_algorithm,
            appx_digest=appx_digest,
            signer=signer,
            certificates=certificates,
            signed_attrs_der=signed_attrs_der,
            signature=signer_info["signature"].native,
            signer_info=signer_info,
        )
    except (ValueError, TypeError, KeyError) as error:
        raise SignatureInvalid(
            f"AppxSignature.p7x is not a valid PKCS#7 structure: {error}", link="signature"
        ) from None


def verify_signer_signature(info: SignatureInfo) -> None:
    _verify_raw(info.signer, info.signature, info.signed_attrs_der, info.signer_info, "package signature")


def _verify_raw(cert: x509.Certificate, signature: bytes, data: bytes, signer_info: cms.SignerInfo, what: str) -> None:
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    algorithm = _HASHES.get(digest_name)
    if algorithm is None:
        raise SignatureInvalid(f"{what}: unsupported digest {digest_name}", link="signature")
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm()))
        else:
            raise SignatureInvalid(f"{what}: unsupported key type", link="signature")
    except InvalidSignature:
        raise SignatureInvalid(
            f"{what}: the signature does not verify with the signer certificate", link="signature"
        ) from None


def parse_timestamp(info: SignatureInfo) -> Timestamp | None:
    """The RFC 3161 countersignature, fully checked except its certificate chain (see chain.py)."""
    unsigned = info.signer_info["unsigned_attrs"]
    if isinstance(unsigned, core.Void) or len(unsigned) == 0:
        return None
    tokens = [a for a in unsigned if a["type"].dotted == MS_TIMESTAMP_ATTR]
    if not tokens:
        return None
    if len(tokens) != 1 or len(tokens[0]["values"]) != 1:
        raise TimestampInvalid("more than one timestamp token", link="timestamp")
    try:
        token = cms.ContentInfo.load(tokens[0]["values"][0].dump())
        signed = token["content"]
        if (
            token["content_type"].native != "signed_data"
            or signed["encap_content_info"]["content_type"].native != "tst_info"
        ):
            raise TimestampInvalid("timestamp token is not a signed TSTInfo", link="timestamp")
        tst_octets = signed["encap_content_info"]["content"].contents
        tst = tsp.TSTInfo.load(tst_octets)
        imprint = tst["message_imprint"]
        imprint_alg = imprint["hash_algorithm"]["algorithm"].native
        if imprint_alg not in _HASHES or imprint_alg == "sha1":
            raise TimestampInvalid(f"timestamp imprint algorithm {imprint_alg} is not accepted", link="timestamp")
        if imprint["hashed_message"].native != hashlib.new(imprint_alg, info.signature).digest():
            raise TimestampInvalid(
                "timestamp does not cover this signature (message imprint differs)", link="timestamp"
            )
        certificates = _certificates(signed["certificates"])
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise TimestampInvalid("timestamp must have exactly one signer", link="timestamp")
        tsa_info = signer_infos[0]
        tsa = _find_signer(tsa_info, certificates)
        attrs = {a["type"].native: a["values"] for a in tsa_info["signed_attrs"]}
        digest_name = tsa_info["digest_algorithm"]["algorithm"].native
        if (
            attrs.get("message_digest") is None
            or attrs["message_digest"][0].native != hashlib.new(digest_name, tst_octets).digest()
        ):
            raise TimestampInvalid("timestamp messageDigest does not match TSTInfo", link="timestamp")
        if attrs.get("content_type") is None or attrs["content_type"][0].native != "tst_info":
            raise TimestampInvalid("timestamp contentType attribute is not TSTInfo", link="timestamp")
        try:
            _verify_raw(
                tsa, tsa_info["signature"].native, b"\x31" + tsa_info["signed_attrs"].dump()[1:], tsa_info, "timestamp"
            )
        except SignatureInvalid as error:
            raise TimestampInvalid(str(error), link="timestamp") from None
        return Timestamp(tst["gen_time"].native.astimezone(dt.UTC), tsa, certificates)
    except (ValueError, TypeError, KeyError) as error:
        raise TimestampInvalid(f"timestamp token is malformed: {error}", link="timestamp") from None


def _certificates(certificate_set: cms.CertificateSet) -> list[x509.Certificate]:
    """Plain X.509 certificates only; attribute certificates and other choices are skipped (reference §4.3)."""
    found: list[x509.Certificate] = []
    if isinstance(certificate_set, core.Void):
        return found
    for choice in certificate_set:
        if choice.name != "certificate":
            continue
        found.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return found


def _find_signer(signer_info: cms.SignerInfo, certificates: list[x509.Certificate]) -> x509.Certificate:
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        raise SignatureInvalid("signer is not identified by issuer and serial number", link="signature")
    issuer = sid.chosen["issuer"].dump()
    serial = sid.chosen["serial_number"].native
    for cert in certificates:
        if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
            return cert
    # Names may be encoded differently (PrintableString vs UTF8String); compare the decoded values too.
    issuer_native = sid.chosen["issuer"].native
    for cert in certificates:
        if cert.serial_number == serial and asn1_x509.Name.load(cert.issuer.public_bytes()).native == issuer_native:
            return cert
    raise MissingSignature("the signer certificate is not embedded in AppxSignature.p7x", link="signature")
