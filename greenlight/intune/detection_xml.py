"""Detection.xml exactly as IntuneWinAppUtil (.NET XmlSerializer) writes it, and a strict parser for it.

Format (verified on Microsoft-made samples): UTF-8 without BOM, no XML declaration, two-space indentation, CRLF line
endings, no trailing newline, root attributes xmlns:xsd, xmlns:xsi, ToolVersion in that order, fixed element order.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from greenlight.intune.crypto import EncryptionInfo
from greenlight.intune.errors import IntunewinFormatError
from greenlight.numbers import is_ascii_number

TOOL_VERSION = "1.8.6.0"
PACKAGE_FILE_NAME = "IntunePackage.intunewin"

# MsiInfo children in the order Microsoft's tool emits them (MsiPublisher last).
MSI_FIELDS = (
    "MsiProductCode",
    "MsiProductVersion",
    "MsiPackageCode",
    "MsiUpgradeCode",
    "MsiExecutionContext",
    "MsiRequiresLogon",
    "MsiRequiresReboot",
    "MsiIsMachineInstall",
    "MsiIsUserInstall",
    "MsiIncludesServices",
    "MsiIncludesODBCDataSource",
    "MsiContainsSystemRegistryKeys",
    "MsiContainsSystemFolders",
    "MsiPublisher",
)
_ENCRYPTION_FIELDS = (
    "EncryptionKey",
    "MacKey",
    "InitializationVector",
    "Mac",
    "ProfileIdentifier",
    "FileDigest",
    "FileDigestAlgorithm",
)


@dataclass(frozen=True)
class ApplicationInfo:
    name: str
    unencrypted_content_size: int
    setup_file: str
    encryption: EncryptionInfo
    file_name: str = PACKAGE_FILE_NAME
    tool_version: str = TOOL_VERSION
    msi_info: dict[str, str] | None = None  # keys from MSI_FIELDS, values as XmlSerializer writes them


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def render(info: ApplicationInfo) -> bytes:
    enc = info.encryption
    encryption_values = (
        _b64(enc.encryption_key),
        _b64(enc.mac_key),
        _b64(enc.iv),
        _b64(enc.mac),
        enc.profile_identifier,
        _b64(enc.file_digest),
        enc.file_digest_algorithm,
    )
    lines = [
        '<ApplicationInfo xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'ToolVersion="{escape(info.tool_version, {chr(34): "&quot;"})}">',
        f"  <Name>{escape(info.name)}</Name>",
        f"  <UnencryptedContentSize>{info.unencrypted_content_size}</UnencryptedContentSize>",
        f"  <FileName>{escape(info.file_name)}</FileName>",
        f"  <SetupFile>{escape(info.setup_file)}</SetupFile>",
        "  <EncryptionInfo>",
        *(
            f"    <{tag}>{escape(value)}</{tag}>"
            for tag, value in zip(_ENCRYPTION_FIELDS, encryption_values, strict=True)
        ),
        "  </EncryptionInfo>",
    ]
    if info.msi_info is not None:
        unknown = set(info.msi_info) - set(MSI_FIELDS)
        if unknown:
            raise ValueError(f"unknown MsiInfo fields: {sorted(unknown)}")
        lines.append("  <MsiInfo>")
        lines += [f"    <{tag}>{escape(info.msi_info[tag])}</{tag}>" for tag in MSI_FIELDS if tag in info.msi_info]
        lines.append("  </MsiInfo>")
    lines.append("</ApplicationInfo>")
    return "\r\n".join(lines).encode("utf-8")


def _text(parent: ET.Element, tag: str) -> str:
    element = parent.find(tag)
    if element is None or element.text is None:
        raise IntunewinFormatError(f"Detection.xml has no <{tag}>")
    return element.text.strip()


def parse(data: bytes) -> ApplicationInfo:
    """Parse Detection.xml; raises IntunewinFormatError naming the missing or malformed element."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD/entities are expanded by ElementTree's default parser
    except ET.ParseError as error:
        raise IntunewinFormatError(f"Detection.xml is not well-formed XML: {error}") from None
    if root.tag != "ApplicationInfo":
        raise IntunewinFormatError(f"Detection.xml root is <{root.tag}>, expected <ApplicationInfo>")
    encryption = root.find("EncryptionInfo")
    if encryption is None:
        raise IntunewinFormatError("Detection.xml has no <EncryptionInfo>")
    graph_names = {
        "EncryptionKey": "encryptionKey",
        "MacKey": "macKey",
        "InitializationVector": "initializationVector",
        "Mac": "mac",
        "ProfileIdentifier": "profileIdentifier",
        "FileDigest": "fileDigest",
        "FileDigestAlgorithm": "fileDigestAlgorithm",
    }
    try:
        info = EncryptionInfo.from_graph({graph_names[tag]: _text(encryption, tag) for tag in _ENCRYPTION_FIELDS})
    except ValueError as error:
        raise IntunewinFormatError(f"Detection.xml EncryptionInfo: {error}") from None
    size_text = _text(root, "UnencryptedContentSize")
    if not is_ascii_number(size_text):
        raise IntunewinFormatError(f"UnencryptedContentSize is not a number: {size_text!r}")
    msi = root.find("MsiInfo")
    msi_info = None
    if msi is not None:
        msi_info = {child.tag: (child.text or "") for child in msi}
    return ApplicationInfo(
        name=_text(root, "Name"),
        unencrypted_content_size=int(size_text),
        setup_file=_text(root, "SetupFile"),
        encryption=info,
        file_name=_text(root, "FileName"),
        tool_version=root.get("ToolVersion", ""),
        msi_info=msi_info,
    )
