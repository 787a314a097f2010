"""Bench: Intune content packaging next to `openssl enc` and the one-core cryptographic floor, same run.

    .venv/bin/python -m bench intune-pack [--size-mib 1024] [--rounds 3] [--sizes 64,256,1024 --plot PNG]

An incompressible installer (os.urandom) is written to a temp folder outside the repo and read once, so every
contender reads it from the page cache; outputs go to the same folder. Each round runs, in an order that
alternates from round to round, these child processes:

- `openssl enc -aes-256-cbc -bufsize 1048576` on the file (encryption only: the two-core baseline);
- `python -m greenlight intune pack` (the whole CLI: inner zip with CRC-32, AES, SHA-256, HMAC, outer zip with
  the blob's CRC-32, Detection.xml);
- the pipeline's packaging of a staged installer into a blob file: the installer framed in the inner zip with its
  CRC-32 known, and the inner zip's SHA-256 known too (staging computes both while it downloads; this bench
  computes them while it writes the installer), so packaging runs AES-256-CBC + HMAC-SHA256 and the CRC check;
- pinned to one CPU: that staged packaging handing each ciphertext chunk on without writing it anywhere (in the
  pipeline the chunks go to the block uploader, not to a file), the same without the known digest (hashing the
  plaintext itself), and the one-core floor: AES-256-CBC + SHA-256 + HMAC-SHA256 over the same number of bytes
  from one in-memory buffer (no I/O, no zip, no threads), then the same loop with the file read into that buffer
  (the floor with the read every packager pays).

Wall time is the child's, from start to exit (interpreter start-up included); peak RSS is the child's own
(bench/procs.py). The one-core comparison uses the time measured inside the child, like the floor's, so
interpreter start-up is left out of both. Targets: CLI <= 1.3x openssl; one core <= 1.15x the floor; peak RSS
< 100 MiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from bench.plots import new_plot, save_plot
from bench.procs import Run, load_average, run, summary

if TYPE_CHECKING:
    from greenlight.intune.zipstream import StoredZip

CHUNK = 1024 * 1024


def _floor(size: int, installer: Path) -> int:
    """AES-256-CBC + SHA-256 + HMAC-SHA256 over `size` bytes of one buffer, on this thread only; then the same
    again with the file read into the buffer (the read any packager pays)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    plain = memoryview(bytearray(os.urandom(CHUNK)))
    cipher_out = memoryview(bytearray(CHUNK + 16))
    timings = []
    for with_io in (False, True):
        cipher = Cipher(algorithms.AES(os.urandom(32)), modes.CBC(os.urandom(16))).encryptor()
        digest, mac = hashlib.sha256(), hmac.new(os.urandom(32), b"", "sha256")
        start = time.perf_counter()
        with open(installer, "rb", buffering=0) as source:
            for _ in range(size // CHUNK):
                if with_io:
                    source.readinto(plain)
                digest.update(plain)
                produced = cipher.update_into(plain, cipher_out)
                mac.update(cipher_out[:produced])
        timings.append(time.perf_counter() - start)
    print(f"{timings[0]:.6f} {timings[1]:.6f}")
    return 0


def _staged_archive(installer: Path, size: int, crc: int | None = None) -> StoredZip:
    """The inner zip of a staged installer, as the pipeline frames it (`greenlight.intune.pipeline.inner_zip`)."""
    from greenlight.intune.builder import member_from_stream
    from greenlight.intune.zipstream import StoredZip

    return StoredZip([member_from_stream("setup.exe", size, lambda: open(installer, "rb"), crc32=crc, framed=True)])


def _staged(installer: Path, crc: int, digest: str, out: str) -> int:
    """The pipeline's packaging of a staged installer; `digest` "-": not known (hash the plaintext); `out` "-":
    hand each chunk on and drop it (as to the block uploader), else write the blob to that file."""
    from greenlight.intune.builder import ContentBuild, write_blob

    start = time.perf_counter()
    known = None if digest == "-" else bytes.fromhex(digest)
    build = ContentBuild(_staged_archive(installer, installer.stat().st_size, crc), plaintext_sha256=known)
    if out == "-":
        handed_on = sum(len(view) for view in build.ciphertext_views())
        assert handed_on + 48 == build.encrypted_size
    else:
        with open(out, "wb") as sink:
            write_blob(build, sink)
    print(f"{time.perf_counter() - start:.6f}")  # in process: what the floor is compared with
    return 0


def _write_installer(path: Path, size_mib: int) -> tuple[int, str]:
    """Write the installer; return its CRC-32 and the SHA-256 of the inner zip around it, computed as the staging
    step computes them while it downloads (head, the bytes as they come, tail)."""
    import hashlib

    archive = _staged_archive(path, size_mib * CHUNK)
    crc, content = 0, hashlib.sha256(archive.head())
    with open(path, "wb") as out:
        for _ in range(size_mib):
            block = os.urandom(CHUNK)
            crc = zlib.crc32(block, crc)
            content.update(block)
            out.write(block)
    content.update(archive.tail(crc))
    with open(path, "rb") as warm:  # into the page cache for every contender alike
        while warm.read(8 * CHUNK):
            pass
    return crc, content.hexdigest()


def _round(work: Path, installer: Path, crc: int, digest: str, flip: bool) -> dict[str, Run]:
    key, iv = os.urandom(32).hex(), os.urandom(16).hex()
    python = sys.executable
    contenders = {
        "openssl": [
            *("openssl", "enc", "-aes-256-cbc", "-bufsize", str(CHUNK), "-K", key, "-iv", iv),
            *("-in", str(installer), "-out", str(work / "openssl.out")),
        ],
        "cli": [
            *(python, "-m", "greenlight", "intune", "pack", "-q", "-c", str(installer.parent)),
            *("-s", installer.name, "-o", str(work / "cli")),
        ],
        "staged": [python, "-m", "bench.intune_pack", "--staged", str(installer), str(crc), digest, str(work / "s")],
    }
    names = list(contenders)
    results: dict[str, Run] = {}
    outputs = (work / "openssl.out", work / "cli", work / "s")
    for name in reversed(names) if flip else names:
        _settle_disk(outputs)
        results[name] = run(contenders[name])
    _settle_disk(outputs)
    size = installer.stat().st_size
    pinned = {min(os.sched_getaffinity(0))}
    # On one CPU the ciphertext is handed on, not written: in the pipeline it goes to the block uploader, and a
    # file write (tmpfs or disk writeback) would put the VM's page allocation into the figure, 0.2-2.9 s per GiB.
    staged = [python, "-m", "bench.intune_pack", "--staged", str(installer), str(crc)]
    one_core = [
        ("floor", [python, "-m", "bench.intune_pack", "--floor", str(size), str(installer)]),
        ("staged-1cpu", [*staged, digest, "-"]),
        ("staged-1cpu-hashing", [*staged, "-", "-"]),
    ]
    for name, argv in reversed(one_core) if flip else one_core:
        results[name] = run(argv, cpus=pinned)
    return results


def _settle_disk(outputs: tuple[Path, ...]) -> None:
    """Between two file-writing contenders (untimed): drop the previous outputs and flush what is still dirty, so
    that no contender's writes are throttled by the kernel writing back another's gigabyte (without this, the
    medians of the 1 GiB runs swung 0.6-3.5x openssl on a quiet machine)."""
    for path in outputs:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    os.sync()


def _measure(size_mib: int, rounds: int) -> dict[str, list[Run]]:
    work = Path(tempfile.mkdtemp(prefix="greenlight-bench-pack-"))
    try:
        setup = work / "setup"
        setup.mkdir()
        installer = setup / "installer.exe"
        crc, digest = _write_installer(installer, size_mib)
        runs: dict[str, list[Run]] = {}
        for number in range(rounds):
            for name, result in _round(work, installer, crc, digest, flip=number % 2 == 1).items():
                runs.setdefault(name, []).append(result)
        return runs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(size_mib: int, runs: dict[str, list[Run]]) -> dict[str, float]:
    def seconds(name: str) -> list[float]:
        return [r.seconds for r in runs[name]]

    floor = [float(r.stdout.split()[0]) for r in runs["floor"]]
    floor_io = [float(r.stdout.split()[1]) for r in runs["floor"]]
    labels = {
        "openssl": "openssl enc -aes-256-cbc -bufsize 1M",
        "cli": "greenlight intune pack (CLI)",
        "staged": "staged installer -> blob file",
        "staged-1cpu": "staged installer, 1 CPU, handed on",
        "staged-1cpu-hashing": "  the same, hashing the plaintext",
    }
    print(f"{size_mib} MiB incompressible, {len(floor)} rounds; {load_average()}")
    for name, label in labels.items():
        rss = max(r.peak_rss_mib for r in runs[name])
        print(f"  {label:<38} {summary(seconds(name))}  peak RSS {rss:.1f} MiB")
    in_process = [float(r.stdout) for r in runs["staged-1cpu"]]
    hashing = [float(r.stdout) for r in runs["staged-1cpu-hashing"]]
    print(f"  {'1 CPU handed on, in process (no start)':<38} {summary(in_process)}")
    print(f"  {'1 CPU hashing, in process (no start)':<38} {summary(hashing)}")
    print(f"  {'one-core floor (AES+SHA+HMAC, in memory)':<38} {summary(floor)}")
    print(f"  {'  the same + file read':<38} {summary(floor_io)}")
    cli = [c / o for c, o in zip(seconds("cli"), seconds("openssl"), strict=True)]
    staged = [c / o for c, o in zip(seconds("staged"), seconds("openssl"), strict=True)]
    one = [c / f for c, f in zip(in_process, floor, strict=True)]
    print(f"  CLI / openssl:            {summary(cli, 'x')} (target <= 1.3x)")
    print(f"  staged / openssl:         {summary(staged, 'x')}")
    print(f"  1 CPU staged / floor:     {summary(one, 'x')} (target <= 1.15x)")
    one_io = [c / f for c, f in zip(in_process, floor_io, strict=True)]
    print(f"  1 CPU staged / floor+read: {summary(one_io, 'x')}")
    one_hashing = [c / f for c, f in zip(hashing, floor, strict=True)]
    print(f"  1 CPU staged, hashing / floor: {summary(one_hashing, 'x')}")
    mib = size_mib
    return {
        "size": size_mib,
        "openssl": mib / statistics.median(seconds("openssl")),
        "cli": mib / statistics.median(seconds("cli")),
        "staged": mib / statistics.median(seconds("staged")),
        "staged-1cpu": mib / statistics.median(seconds("staged-1cpu")),
        "floor": mib / statistics.median(floor),
    }


def _plot(points: list[dict[str, float]], path: Path) -> None:
    figure, axis = new_plot()
    sizes = [p["size"] for p in points]
    for key, label in (
        ("openssl", "openssl enc (AES only)"),
        ("cli", "intune pack CLI, 2 CPUs"),
        ("staged", "staged -> blob, 2 CPUs"),
        ("staged-1cpu", "staged, 1 CPU, handed on"),
        ("floor", "1-CPU floor (AES+SHA+HMAC)"),
    ):
        axis.plot(sizes, [p[key] for p in points], marker="o", label=label)
    axis.set_xscale("log", base=2)
    axis.set_xticks(sizes, [str(s) for s in sizes])
    axis.set_xlabel("content size (MiB)")
    axis.set_ylabel("MiB/s (median of rounds)")
    save_plot(figure, axis, path, "Packaging throughput vs size (incl. process start-up)", legend_size=7)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench intune-pack")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--sizes", help="comma-separated sizes in MiB (instead of --size-mib), e.g. for --plot")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plot", type=Path, help="write throughput vs size to this PNG")
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--staged", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        return _floor(int(args.floor[0]), Path(args.floor[1]))
    if args.staged:
        return _staged(Path(args.staged[0]), int(args.staged[1]), args.staged[2], args.staged[3])
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.size_mib]
    points = [_report(size, _measure(size, args.rounds)) for size in sizes]
    if args.plot:
        _plot(points, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
