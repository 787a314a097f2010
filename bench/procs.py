"""Child processes for the benches: wall time and the child's own peak memory, measured honestly.

`ru_maxrss` of a child started from Python counts the parent's memory (at exec, the kernel records the
high-water mark of the address space being replaced, which a vfork/posix_spawn child shares with the parent),
so a 7 MiB `openssl` shows as the parent's 20+ MiB. VmHWM in /proc/PID/status belongs to the process's own
image after exec; it is sampled every few milliseconds until the child exits (it only ever grows, so the last
sample is the peak up to then).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.005


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    stdout: str


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run(argv: list[str], *, cpus: set[int] | None = None, env: dict[str, str] | None = None) -> Run:
    """Run `argv` to completion (optionally pinned to `cpus`); raise if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, env=env)
    if cpus is not None:
        os.sched_setaffinity(process.pid, cpus)  # right after start, before it has done any real work
    peak = 0
    while process.poll() is None:
        peak = max(peak, _hwm_kib(process.pid) or 0)
        time.sleep(SAMPLE_SECONDS)
    elapsed = time.perf_counter() - start
    out = process.stdout.read().decode() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed with exit code {process.returncode}")
    return Run(elapsed, peak / 1024, out)


def summary(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return f"min {min(values):.{digits}f} / median {statistics.median(values):.{digits}f} {unit}"


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} CPUs"
