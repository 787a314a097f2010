"""`python -m greenlight intune pack|unpack`: a cross-platform IntuneWinAppUtil.

  pack   -c SETUP_FOLDER -s SETUP_FILE -o OUTPUT_FOLDER   writes OUTPUT_FOLDER/<setup file stem>.intunewin
  unpack FILE.intunewin -o FOLDER                         verifies MAC, digest and layout, writes the inner zip
                                                          (and, with --extract, its files)
Exit codes: 0 ok, 2 bad input (layout / missing or unwritable files), 3 integrity failure (MAC, digest, size,
padding); 141 when whoever reads the output closed it early (`| head`).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from greenlight.intune.errors import ContentSourceError, IntegrityError, IntunewinFormatError
from greenlight.intune.package import pack_folder
from greenlight.intune.reader import unpack

EXIT_BAD_INPUT = 2
EXIT_INTEGRITY = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    intune = subparsers.add_parser("intune", help="Intune Win32 content: pack and unpack .intunewin files")
    commands = intune.add_subparsers(dest="intune_command", required=True)

    pack = commands.add_parser("pack", help="package a setup folder as .intunewin (like IntuneWinAppUtil)")
    pack.add_argument("-c", "--content", dest="setup_folder", type=Path, required=True, help="setup folder")
    pack.add_argument("-s", "--setup", dest="setup_file", required=True, help="setup file, relative to the folder")
    pack.add_argument("-o", "--output", dest="output_folder", type=Path, required=True, help="output folder")
    pack.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    pack.set_defaults(handler=_pack)

    unpack_parser = commands.add_parser("unpack", help="verify a .intunewin and write its decrypted inner zip")
    unpack_parser.add_argument("package", type=Path, help="the .intunewin file")
    unpack_parser.add_argument("-o", "--output", dest="output_folder", type=Path, required=True)
    unpack_parser.add_argument("--extract", action="store_true", help="also extract the inner zip's files")
    unpack_parser.set_defaults(handler=_unpack)


def _pack(args: argparse.Namespace) -> int:
    setup_file = args.setup_file
    folder: Path = args.setup_folder
    if Path(setup_file).is_absolute():
        try:
            setup_file = str(Path(setup_file).resolve().relative_to(folder.resolve()))
        except ValueError:
            return _fail(f"setup file {args.setup_file} is not inside {folder}", EXIT_BAD_INPUT)
    try:
        result = pack_folder(folder, setup_file, args.output_folder)
    except ContentSourceError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    except OSError as error:  # an output folder that is a file, a full disk, no permission
        return _fail(_os_message(error), EXIT_BAD_INPUT)
    if not args.quiet:
        print(f"{result.path} ({result.application.unencrypted_content_size} bytes of content)")
    return 0


def _unpack(args: argparse.Namespace) -> int:
    package: Path = args.package
    if not package.is_file():
        return _fail(f"{package} does not exist", EXIT_BAD_INPUT)
    inner = args.output_folder / (package.stem + ".zip")
    try:
        args.output_folder.mkdir(parents=True, exist_ok=True)
        result = unpack(package, inner)
        if args.extract:
            failure = _extract(inner, args.output_folder)
            if failure:
                return _fail(failure, EXIT_BAD_INPUT)
    except IntegrityError as error:
        return _fail(f"integrity check failed ({error.reason}): {error.detail}", EXIT_INTEGRITY)
    except IntunewinFormatError as error:
        return _fail(f"not a valid .intunewin: {error}", EXIT_BAD_INPUT)
    except OSError as error:
        return _fail(_os_message(error), EXIT_BAD_INPUT)
    app = result.application
    print(f"{inner}: verified (setup file {app.setup_file}, {result.content.plaintext_size} bytes, MAC and digest ok)")
    return 0


def _extract(inner: Path, output_folder: Path) -> str | None:
    """Extract the inner zip into `output_folder`; the reason when an entry would land outside it."""
    with zipfile.ZipFile(inner) as archive:
        for member in archive.namelist():
            target = (output_folder / member).resolve()
            if not target.is_relative_to(output_folder.resolve()):
                return f"inner zip entry {member!r} escapes the output folder"
        archive.extractall(output_folder)
    return None


def _os_message(error: OSError) -> str:
    return f"{error.strerror}: {error.filename}" if error.filename else str(error)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
