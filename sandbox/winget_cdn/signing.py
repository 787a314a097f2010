"""A local test PKI and an APPX signer that produces what Microsoft's Store signing produces.

root CA → intermediate CA → short-lived leaf "CN=Microsoft Corporation, …" (EKU codeSigning + Store origin),
and a time-stamping authority under the same root. The leaf's subject deliberately equals Microsoft's so the
verifier runs exactly the production checks; only the trust anchor differs (a setting). Nothing here is ever
trusted unless a test or the local stack names this root explicitly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from greenlight.winget.pkcs7 import (
    APPX_SIP_GUID,
    SPC_INDIRECT_DATA,
    SPC_SIP_INFO,
    DigestInfo,
    SpcAttributeTypeAndOptionalValue,
    SpcContentInfo,
    SpcIndirectDataContent,
    SpcSipInfo,
)

STORE_EKU = ObjectIdentifier("1.3.6.1.4.1.311.76.3.1")
MICROSOFT_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Redmond"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Microsoft Corporation"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Corporation"),
    ]
)
MICROSOFT_PUBLISHER = "CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(
    subject: x509.Name,
    issuer: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer_key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    ca: bool,
    ekus: list[ObjectIdentifier] | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class TestPki:
    __test__ = False  # not a pytest test class, despite the name
    root: x509.Certificate
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    tsa: x509.Certificate
    tsa_key: rsa.RSAPrivateKey

    @classmethod
    def load_or_create(cls, directory: Path, label: str = "Greenlight Sandbox") -> TestPki:
        """Keys persist in `directory` so a restarted sandbox keeps the anchor the client trusts."""
        files = {n: directory / f"{n}.pem" for n in ("root", "intermediate", "intermediate-key", "tsa", "tsa-key")}
        if all(p.exists() for p in files.values()):
            return cls(
                root=x509.load_pem_x509_certificate(files["root"].read_bytes()),
                intermediate=x509.load_pem_x509_certificate(files["intermediate"].read_bytes()),
                intermediate_key=serialization.load_pem_private_key(files["intermediate-key"].read_bytes(), None),  # type: ignore[arg-type]
                tsa=x509.load_pem_x509_certificate(files["tsa"].read_bytes()),
                tsa_key=serialization.load_pem_private_key(files["tsa-key"].read_bytes(), None),  # type: ignore[arg-type]
            )
        pki = cls.create(label)
        directory.mkdir(parents=True, exist_ok=True)
        files["root"].write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
        files["intermediate"].write_bytes(pki.intermediate.public_bytes(serialization.Encoding.PEM))
        files["intermediate-key"].write_bytes(_pem_key(pki.intermediate_key))
        files["tsa"].write_bytes(pki.tsa.public_bytes(serialization.Encoding.PEM))
        files["tsa-key"].write_bytes(_pem_key(pki.tsa_key))
        for private in ("intermediate-key", "tsa-key"):
            files[private].chmod(0o600)
        return pki

    @classmethod
    def create(cls, label: str = "Greenlight Sandbox") -> TestPki:
        now = dt.datetime.now(dt.UTC)
        start, end = now - dt.timedelta(days=365), now + dt.timedelta(days=3650)
        root_key, intermediate_key, tsa_key = _key(), _key(), _key()
        root_name = _name(f"{label} WinGet Root (TEST ONLY)")
        root = _cert(root_name, root_name, root_key, root_key, start, end, ca=True)
        intermediate = _cert(
            _name(f"{label} Marketplace CA (TEST ONLY)"), root_name, intermediate_key, root_key, start, end, ca=True
        )
        tsa = _cert(
            _name(f"{label} Time-Stamp Service (TEST ONLY)"),
            root_name,
            tsa_key,
            root_key,
            start,
            end,
            ca=False,
            ekus=[ExtendedKeyUsageOID.TIME_STAMPING],
        )
        return cls(root, intermediate, intermediate_key, tsa, tsa_key)

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def sign_appx(self, digest_blob: bytes, signing_time: dt.datetime) -> bytes:
        """AppxSignature.p7x for `digest_blob`, with a leaf valid three days around `signing_time` (like the
        real Store leaf) and an RFC 3161 timestamp at `signing_time`."""
        leaf_key = _key()
        leaf = _cert(
            MICROSOFT_SUBJECT,
            self.intermediate.subject,
            leaf_key,
            self.intermediate_key,
            signing_time - dt.timedelta(hours=1),
            signing_time + dt.timedelta(days=3),
            ca=False,
            ekus=[ExtendedKeyUsageOID.CODE_SIGNING, STORE_EKU],
        )
        indirect = SpcIndirectDataContent(
            {
                "data": SpcAttributeTypeAndOptionalValue(
                    {
                        "type": SPC_SIP_INFO,
                        "value": SpcSipInfo(
                            {
                                "version": 0x01010000,
                                "uuid": APPX_SIP_GUID,
                                "reserved1": 0,
                                "reserved2": 0,
                                "reserved3": 0,
                                "reserved4": 0,
                                "reserved5": 0,
                            }
                        ),
                    }
                ),
                "message_digest": DigestInfo({"digest_algorithm": {"algorithm": "sha256"}, "digest": digest_blob}),
            }
        )
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": [SPC_INDIRECT_DATA]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(indirect.contents).digest()]}),
            ]
        )
        signature = leaf_key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        token = self._timestamp(signature, signing_time)
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": _sid(leaf),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attrs,
                "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
                "signature": signature,
                "unsigned_attrs": [{"type": "microsoft_time_stamp_token", "values": [token]}],
            }
        )
        signed = {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": SPC_INDIRECT_DATA, "content": indirect},
            "certificates": [_asn1(leaf), _asn1(self.intermediate)],
            "signer_infos": [signer],
        }
        return b"PKCX" + SpcContentInfo({"content_type": "signed_data", "content": signed}).dump()

    def _timestamp(self, signature: bytes, at: dt.datetime) -> cms.ContentInfo:
        tst = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": "1.3.6.1.4.1.601.10.3.1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": hashlib.sha256(signature).digest(),
                },
                "serial_number": x509.random_serial_number(),
                "gen_time": at.astimezone(dt.UTC),
            }
        )
        tst_der = tst.dump()
        attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}),
            ]
        )
        tsa_signature = self.tsa_key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
                "certificates": [_asn1(self.tsa)],
                "signer_infos": [
                    {
                        "version": "v1",
                        "sid": _sid(self.tsa),
                        "digest_algorithm": {"algorithm": "sha256"},
                        "signed_attrs": attrs,
                        "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
                        "signature": tsa_signature,
                    }
                ],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed})


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _sid(cert: x509.Certificate) -> cms.SignerIdentifier:
    parsed = _asn1(cert)
    return cms.SignerIdentifier(
        {
            "issuer_and_serial_number": {
                "issuer": parsed.issuer,
                "serial_number": parsed.serial_number,
            }
        }
    )
