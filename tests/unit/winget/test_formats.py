"""MSZIP, versionData, winget versions and the strict YAML loader."""

from __future__ import annotations

import hashlib
import os
import zlib

import pytest

from greenlight.winget import mszip, safe_yaml, version_data, versions
from greenlight.winget.errors import HostileInput, ManifestError, VersionNotFound
from tests.unit.winget.conftest import VECTORS

V2_DATA = VECTORS / "v2-builder/packages/Example.App/be18e95b/versionData.mszyml"
# Windows-compressed sample reproduced in the reference (§3.1).
WINDOWS_SAMPLE = bytes.fromhex(
    "0a51e5c018000c029c000000000000009c0000000000000083000000434b55cb310ec2300c40d13da7c8054852bbb5e3ac20c1c8c49ed46941a2"
    "546a50cf4f57c62fbddf1ec9762e98fd92ccc9ee470cbd0b2e066427d158bbdd935df2e735d5f66d7ef6d7759ddfd59f9fdbba54ffa7bd8ec2c7"
    "d260a05bb25151870ca25dd1125461ea30c75e1422414122c4ca30e52c4158f24891b810280301d691cd0f"
)


def test_v2_builder_version_data_decodes_to_its_one_version() -> None:
    data = V2_DATA.read_bytes()
    assert hashlib.sha256(data).hexdigest() == "be18e95b512223e67bfee05a998decc9ffcdef53b21414bf8772c842f0451ea9"
    parsed = version_data.parse(data, "Example.App")
    (entry,) = parsed.entries
    assert entry.version == "1.0.0"
    assert entry.relative_path == "manifests/e/Example/App/1.0.0/2b70546f-Example.App.yaml"
    assert entry.sha256 == "2b70546f6d88308b8b99ab8feedb26904b1e4db1ae17e4508d68fca42c6e94b6"


def test_windows_produced_mszip_decodes() -> None:
    out = mszip.decompress(WINDOWS_SAMPLE)
    assert hashlib.sha256(out).hexdigest() == "651931d271096683e03bb775dcf8fecd3893a35742963be02af1c71fb96df9c2"
    assert b"rP: manifests/g/Google/Chrome/154.0.8037.98/dc97" in out


def test_multi_block_mszip_uses_the_previous_output_as_dictionary() -> None:
    text = b"".join(b"- v: 1.%d.0\n  rP: manifests/c/Contoso/App/1.%d.0/abcd\n" % (i, i) for i in range(3000))
    assert len(text) > 3 * 32768
    packed = mszip.compress(text)
    assert mszip.decompress(packed) == text
    # Each block after the first only decodes with its dictionary: one plain inflater fails on block two.
    (size,) = __import__("struct").unpack_from("<I", packed, 24)
    second = packed[24 + 4 + size + 6 :]
    with pytest.raises(zlib.error):
        zlib.decompressobj(wbits=-15).decompress(second)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b: b"XX" + b[2:], ManifestError),  # magic
        (lambda b: b[:6] + bytes([b[6] ^ 0xFF]) + b[7:], ManifestError),  # header check byte
        (lambda b: b[:7] + b"\x03" + b[8:], ManifestError),  # XPRESS, not MSZIP
        (lambda b: b[:28] + b"XX" + b[30:], ManifestError),  # CK marker
        (lambda b: b[:-5], ManifestError),  # truncated
    ],
)
def test_malformed_mszip_is_refused(mutate, error) -> None:
    with pytest.raises(error):
        mszip.decompress(mutate(V2_DATA.read_bytes()))


def test_mszip_declaring_a_huge_size_is_refused_before_inflating() -> None:
    packed = mszip.compress(os.urandom(100))
    header = bytearray(packed[:24])
    header[8:16] = (1 << 40).to_bytes(8, "little")
    header[6] = zlib.crc32(bytes(header[0:6] + header[7:24])) & 0xFF
    with pytest.raises(HostileInput, match="limit"):
        mszip.decompress(bytes(header) + packed[24:])


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("1.0", "1.0.0", 0), ("1.10", "1.9", 1), ("1.0-beta", "1.0", -1), ("2.0.0", "10.0", -1), ("3.0.24", "3.0.24", 0)],
)
def test_winget_version_comparison(a: str, b: str, expected: int) -> None:
    assert versions.compare(a, b) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("9" * 5000, "1", 1),  # longer than int()'s 4300-digit limit
        ("1." + "0" * 5000 + "1", "1.1", 0),  # leading zeros do not count
        ("9" * 5000, "9" * 5000 + ".1", -1),
        ("1.²", "1.2", -1),  # a superscript is a suffix, not a digit: 1.0+"²" < 1.2
    ],
)
def test_version_numbers_compare_without_int(a: str, b: str, expected: int) -> None:
    assert versions.compare(a, b) == expected


def _entries(*pairs: tuple[str, str]) -> version_data.VersionData:
    return version_data.VersionData(
        "Contoso.App", tuple(version_data.VersionEntry(v, f"manifests/c/{v}/{h}", h * 16) for v, h in pairs)
    )


def test_version_lookup_exact_then_equal_then_latest() -> None:
    data = _entries(("1.0", "aaaa"), ("2.0.0", "bbbb"), ("1.10.0", "cccc"))
    assert data.find("1.0").relative_path.endswith("aaaa")
    assert data.find("2.0").relative_path.endswith("bbbb")  # winget equality: 2.0 == 2.0.0
    assert data.find(None).version == "2.0.0"
    assert data.versions() == ["2.0.0", "1.10.0", "1.0"]
    with pytest.raises(VersionNotFound, match=r"3\.0"):
        data.find("3.0")


def _pack(text: str) -> bytes:
    return mszip.compress(text.encode())


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("sV: 2.0\nvD: []\n", ManifestError, "not 1.x"),
        ("sV: 1.0\nvD:\n- v: 1.0\n  rP: manifests/../../etc/passwd\n  s256H: " + "a" * 64, HostileInput, "safe"),
        ("sV: 1.0\nvD:\n- v: 1.0\n  rP: /etc/passwd\n  s256H: " + "a" * 64, HostileInput, "safe"),
        ("sV: 1.0\nvD:\n- v: 1.0\n  rP: manifests/a\n  s256H: nothex", ManifestError, "s256H"),
        ("sV: 1.0\nvD:\n- v: 1.0\n  s256H: " + "a" * 64, ManifestError, "rP is missing"),
    ],
)
def test_invalid_version_data_is_refused_naming_the_field(text: str, error, match: str) -> None:
    with pytest.raises(error, match=match):
        version_data.parse(_pack(text), "Contoso.App")


def test_yaml_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8)
    )
    with pytest.raises(HostileInput, match="aliases"):
        safe_yaml.load(bomb, "bomb.yaml")


def test_yaml_size_limit_and_duplicate_keys_and_python_tags() -> None:
    with pytest.raises(HostileInput, match="limit"):
        safe_yaml.load(b"a: " + b"x" * (safe_yaml.MAX_DOCUMENT + 1), "big.yaml")
    with pytest.raises(ManifestError, match="duplicate key 'a'"):
        safe_yaml.load("a: 1\na: 2\n", "dup.yaml")
    with pytest.raises(ManifestError, match="not valid YAML"):
        safe_yaml.load("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_yaml_keeps_versions_dates_and_yes_as_strings() -> None:
    loaded = safe_yaml.load("v: 3.10\nd: 2026-09-04\nn: no\nb: true\nx: ~\n", "t.yaml")
    assert loaded == {"v": "3.10", "d": "2026-09-04", "n": "no", "b": True, "x": None}
