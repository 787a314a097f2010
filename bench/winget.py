"""Bench: cold verify + open of a source2.msix at real size, then warm lookups and searches, per index size.

    .venv/bin/python -m bench winget [--packages N[,N...]] [--rounds R] [--plot PNG]

The default size, 40,000 synthetic packages, gives an index.db about as large as Microsoft's real one (≈ 9 MB;
reference winget-source-verification.md). Each source is built by the sandbox's builder, signed by a throw-away
test PKI, in a temp directory outside the repo (deleted afterwards). Every size is then measured in a fresh child
process, so its memory is that process's own:

- cold: full verification (ZIP layout, APPX digests, block map, PKCS#7, timestamp, chains), extracting index.db
  and opening the Catalog (index load + publishers), next to the same-run baseline of unzipping every member
  with `zipfile`, hashing it with SHA-256, writing index.db and running the same SQL reads into plain lists;
- warm lookups (20,000 random ids) and searches (2,000 queries of four kinds), each repeated R times;
- memory: RSS growth and GC-tracked objects added by opening the catalog, and GC collections during searches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _baseline(msix: bytes, index_path: Path) -> float:
    """Unzip + SHA-256 every member, write index.db, run the same SQL reads: what any verifier must do."""
    start = time.perf_counter()
    with zipfile.ZipFile(io.BytesIO(msix)) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            hashlib.sha256(data).digest()
            if info.filename == "Public/index.db":
                index_path.write_bytes(data)
    from greenlight.winget.index import LOAD_SQL

    db = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    for sql in LOAD_SQL:
        db.execute(sql).fetchall()
    db.close()
    return time.perf_counter() - start


def _queries(ids: list[str], rng: random.Random) -> list[str]:
    queries = []
    for _ in range(2_000):
        package_id = rng.choice(ids)
        kind = rng.randrange(4)
        if kind == 0:
            queries.append(package_id)  # exact id
        elif kind == 1:
            queries.append(package_id.split(".")[1][:5])  # a name prefix
        elif kind == 2:
            queries.append(rng.choice(["note", "photo", "sync", "backup", "vault", "pdf", "video"]))  # tag/word
        else:
            queries.append(package_id.split(".")[0])  # publisher: thousands of matches
    return queries


def _child(msix_path: Path, root_pem: Path, rounds: int) -> dict[str, Any]:
    import psutil

    from greenlight.winget.catalog import Catalog
    from greenlight.winget.index import SourceIndex
    from greenlight.winget.source import OpenSource, verify_and_extract
    from greenlight.winget.trust import file_policy

    me = psutil.Process()
    msix = msix_path.read_bytes()
    policy = file_policy(root_pem)
    work = msix_path.parent
    cold: list[float] = []
    baseline: list[float] = []
    catalog = None
    rss_before = me.memory_info().rss
    tracked_before = len(gc.get_objects())
    for round_number in range(rounds):  # alternate, so drift on the shared machine hits both alike
        baseline.append(_baseline(msix, work / f"plain-{round_number}.db"))
        catalog = None
        gc.collect()
        rss_before = me.memory_info().rss
        tracked_before = len(gc.get_objects())
        start = time.perf_counter()
        index_path = work / f"index-{round_number}.db"
        verified, _ = verify_and_extract(msix, policy, index_path)
        catalog = Catalog(OpenSource(verified, SourceIndex(index_path), None, ""))
        cold.append(time.perf_counter() - start)
    assert catalog is not None
    del msix
    gc.collect()
    rss_after = me.memory_info().rss
    tracked = len(gc.get_objects()) - tracked_before
    index = catalog.source.index
    rng = random.Random(1)
    with sqlite3.connect(f"file:{index.path}?mode=ro", uri=True) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM packages")]
    lookup_p99: list[float] = []
    search_p50: list[float] = []
    search_p99: list[float] = []
    search_max: list[float] = []
    gc_runs = 0
    for _ in range(rounds):
        samples = []
        for package_id in (rng.choice(ids) for _ in range(20_000)):
            start = time.perf_counter()
            row = index.get(package_id)
            samples.append(time.perf_counter() - start)
            assert row is not None
        lookup_p99.append(percentile(samples, 0.99))
        before = sum(s["collections"] for s in gc.get_stats())
        samples = []
        for query in _queries(ids, rng):
            start = time.perf_counter()
            catalog.search(query, 20)
            samples.append(time.perf_counter() - start)
        gc_runs += sum(s["collections"] for s in gc.get_stats()) - before
        search_p50.append(percentile(samples, 0.5))
        search_p99.append(percentile(samples, 0.99))
        search_max.append(max(samples))
    return {
        "packages": len(index),
        "cold_s": cold,
        "baseline_s": baseline,
        "rss_growth_mib": (rss_after - rss_before) / 2**20,
        "gc_tracked_added": tracked,
        "gc_collections_during_searches": gc_runs,
        "lookup_p99_s": lookup_p99,
        "search_p50_s": search_p50,
        "search_p99_s": search_p99,
        "search_max_s": search_max,
        "peak_rss_mib": me.memory_info().rss / 2**20,
    }


def _build(packages: int, work: Path) -> tuple[Path, Path, str]:
    from cryptography.hazmat.primitives import serialization

    from sandbox.winget_cdn.builder import BuildOptions, build_source
    from sandbox.winget_cdn.signing import TestPki
    from sandbox.winget_cdn.synthetic import generate

    pki = TestPki.create()
    documents = generate(packages)
    start = time.perf_counter()
    options = BuildOptions("https://127.0.0.1:9/winget", dt.datetime.now(dt.UTC), write_files=False, validate=False)
    built = build_source(documents, work / "source", pki, options)
    index_size = len(dict(built.payload)["Public/index.db"])
    msix_path = work / "source2.msix"
    msix_path.write_bytes(built.msix)
    root_pem = work / "root.pem"
    root_pem.write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    summary = (
        f"{len(built.packages)} packages, {len(documents)} versions, msix {len(built.msix) / 1e6:.2f} MB, "
        f"index.db {index_size / 1e6:.2f} MB (built in {time.perf_counter() - start:.0f} s)"
    )
    return msix_path, root_pem, summary


def _ms(values: list[float]) -> str:
    return f"min {min(values) * 1e3:.2f} / median {statistics.median(values) * 1e3:.2f} ms"


def _report(result: dict[str, Any]) -> None:
    cold, base = result["cold_s"], result["baseline_s"]
    ratios = [c / b for c, b in zip(cold, base, strict=True)]
    per_10k = result["rss_growth_mib"] / result["packages"] * 10_000
    lookup = result["lookup_p99_s"]
    print(f"  cold verify + open: {_ms(cold)}; baseline unzip+hash+SQL: {_ms(base)}")
    print(f"  cold / baseline: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x (target <= 2x)")
    print(
        f"  memory: RSS +{result['rss_growth_mib']:.1f} MiB ({per_10k:.1f} MiB per 10,000 packages), "
        f"{result['gc_tracked_added']} GC-tracked objects added; process RSS {result['peak_rss_mib']:.0f} MiB"
    )
    print(f"  lookup p99: min {min(lookup) * 1e6:.2f} / median {statistics.median(lookup) * 1e6:.2f} µs (target 10 µs)")
    print(f"  search p50: {_ms(result['search_p50_s'])}")
    print(f"  search p99: {_ms(result['search_p99_s'])} (target 10 ms); max {_ms(result['search_max_s'])}")
    searches = len(result["search_p99_s"]) * 2000
    print(f"  GC collections during {searches} searches: {result['gc_collections_during_searches']}")


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    from bench.plots import new_plot, save_plot

    sizes = [r["packages"] / 1000 for r in results]
    figure, axis = new_plot()
    for key, label in (("search_p99_s", "search p99"), ("search_p50_s", "search p50")):
        axis.plot(sizes, [statistics.median(r[key]) * 1e3 for r in results], marker="o", label=label)
    axis.axhline(10, color="grey", linestyle="--", linewidth=1, label="target p99 10 ms")
    axis.set_xlabel("packages in the index (thousands)")
    axis.set_ylabel("ms (median of rounds)")
    save_plot(figure, axis, path, "WinGet catalog search latency vs index size", legend_size=8)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench winget")
    parser.add_argument("--packages", default="40000", help="index size(s), comma-separated (default 40000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plot", type=Path, help="write search latency vs index size to this PNG")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.rounds)))
        return 0
    results = []
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    for packages in (int(value) for value in args.packages.split(",")):
        with tempfile.TemporaryDirectory(prefix="greenlight-bench-winget-") as tmp:
            msix_path, root_pem, summary = _build(packages, Path(tmp))
            print(f"{packages} packages: {summary}", flush=True)
            child = [sys.executable, "-m", "bench.winget", "--rounds", str(args.rounds), "--child"]
            output = subprocess.run([*child, str(msix_path), str(root_pem)], cwd=ROOT, check=True, capture_output=True)
            result = json.loads(output.stdout)
            results.append(result)
            _report(result)
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    if args.plot:
        _plot(results, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
