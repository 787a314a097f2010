"""Bench: package a 2 GiB incompressible installer into Intune content, next to `openssl enc -aes-256-cbc`.

    .venv/bin/python -m bench intune-pack [--size-mib N]

Both write their output to the same temp directory (outside the repo, deleted afterwards) from a file that is in
the page cache. Peak RSS is each child process's own maximum resident set (getrusage via wait4).
Targets (issue 5): time ≤ 1.5 × OpenSSL's, peak RSS < 150 MiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} failed")
    return elapsed, usage.ru_maxrss / 1024


def _child(setup_folder: Path, out: Path) -> int:
    from greenlight.intune.builder import ContentBuild, write_blob

    build = ContentBuild.from_folder(setup_folder)
    with open(out, "wb") as sink:
        write_blob(build, sink)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench intune-pack")
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--child", nargs=2, metavar=("SETUP_FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(Path(args.child[0]), Path(args.child[1]))
    work = Path(tempfile.mkdtemp(prefix="greenlight-bench-pack-"))
    try:
        setup = work / "setup"
        setup.mkdir()
        installer = setup / "installer.exe"
        with open(installer, "wb") as out:
            for _ in range(args.size_mib // 8):
                out.write(os.urandom(8 * 1024 * 1024))
        size = installer.stat().st_size
        key, iv = os.urandom(32).hex(), os.urandom(16).hex()
        openssl_s, openssl_rss = _run(
            ["openssl", "enc", "-aes-256-cbc", "-K", key, "-iv", iv, "-in", str(installer), "-out", str(work / "o")]
        )
        (work / "o").unlink()
        ours_s, ours_rss = _run([sys.executable, "-m", "bench.intune_pack", "--child", str(setup), str(work / "c")])
        (work / "c").unlink()
        mib = size / 1024 / 1024
        print(f"input: {mib:.0f} MiB incompressible, {os.cpu_count()} CPUs")
        line = "{:<25}: {:6.2f} s  {:7.1f} MiB/s  peak RSS {:6.1f} MiB"
        print(line.format("openssl enc -aes-256-cbc", openssl_s, mib / openssl_s, openssl_rss))
        print(line.format("greenlight content build", ours_s, mib / ours_s, ours_rss))
        ratio = ours_s / openssl_s
        print(f"ratio to openssl: {ratio:.2f}x (target <= 1.5x); RSS target < 150 MiB")
        return 0 if ratio <= 1.5 and ours_rss < 150 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
