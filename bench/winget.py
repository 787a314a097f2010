"""Bench: cold verify + open of a realistic source2.msix, then warm lookups and searches.

    .venv/bin/python -m bench winget [--packages=N]

The source is built by the sandbox's builder (N synthetic packages, default 10,000, ~30% with two versions),
signed by a throw-away test PKI, in a temp directory outside the repo (deleted afterwards). "Cold" is a full
verification (ZIP layout, APPX digests, block map, PKCS#7, timestamp, chains) plus extracting index.db and
loading it, in this process, with fresh objects each round. Targets (issue 4): lookup p99 < 1 ms, search p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms, max {ordered[-1] * 1000:.3f} ms (n={len(ordered)})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench winget")
    parser.add_argument("--packages", type=int, default=10_000)
    args = parser.parse_args(argv)

    from greenlight.winget.catalog import Catalog
    from greenlight.winget.index import SourceIndex
    from greenlight.winget.source import OpenSource, verify_and_extract
    from greenlight.winget.trust import TrustPolicy
    from sandbox.winget_cdn.builder import BuildOptions, build_source
    from sandbox.winget_cdn.signing import TestPki
    from sandbox.winget_cdn.synthetic import generate

    with tempfile.TemporaryDirectory(prefix="greenlight-bench-winget-") as tmp:
        workdir = Path(tmp)
        pki = TestPki.create()
        documents = generate(args.packages)
        start = time.perf_counter()
        built = build_source(
            documents,
            workdir / "source",
            pki,
            BuildOptions("https://127.0.0.1:9/winget", dt.datetime.now(dt.UTC), write_files=False, validate=False),
        )
        build_seconds = time.perf_counter() - start
        index_size = len(dict(built.payload)["Public/index.db"])
        print(
            f"built source2.msix: {len(built.packages)} packages, {len(documents)} versions, "
            f"msix {len(built.msix) / 1e6:.2f} MB, index.db {index_size / 1e6:.2f} MB, in {build_seconds:.1f} s"
        )
        policy = TrustPolicy(signing_roots=(pki.root,), timestamp_roots=(pki.root,))

        cold: list[float] = []
        catalog = None
        for round_number in range(5):
            start = time.perf_counter()
            index_path = workdir / f"index-{round_number}.db"
            verified, _ = verify_and_extract(built.msix, policy, index_path)
            source = OpenSource(verified, SourceIndex(index_path), None, "")
            catalog = Catalog(source)
            cold.append(time.perf_counter() - start)
        print(
            f"cold verify+open: median {statistics.median(cold) * 1000:.0f} ms, "
            f"min {min(cold) * 1000:.0f} ms (5 rounds)"
        )

        assert catalog is not None
        rng = random.Random(1)
        ids = list(built.packages)
        lookups = []
        for package_id in (rng.choice(ids) for _ in range(20_000)):
            start = time.perf_counter()
            row = catalog.source.index.get(package_id)
            lookups.append(time.perf_counter() - start)
            assert row is not None
        print(f"warm lookup by id: {_percentiles(lookups)}")

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
                queries.append(package_id.split(".")[0])  # publisher: many hits
        searches = []
        for query in queries:
            start = time.perf_counter()
            catalog.search(query, 20)
            searches.append(time.perf_counter() - start)
        print(f"warm search (limit 20): {_percentiles(searches)}")
    return 0
