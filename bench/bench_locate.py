"""Point → ward: the STRtree index against a linear scan over the same prepared polygons.

    .venv/bin/python bench/bench_locate.py [WARDS.geojson] [--points N] [--rounds R] [--seed S]

Builds :class:`ihanoi.lib.geo.WardIndex` from real polygons (default: Hanoi's 126 wards of
2025 in ../shared/data), draws N random points in their bounding box with a fixed seed and
looks each one up both ways, in the same process, round after round (tree then linear, so
that both meet the same machine load). Prints the best round of each and their ratio, and
checks that both give the same answer for every point. Figures are lookups per second on
this machine; only the ratio carries over to another one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import shapely

from ihanoi.lib.geo import WardHit, WardIndex, WardRecord

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WARDS = ROOT.parent / "shared" / "data" / "hanoi" / "wards-2025.geojson"

Lookup = Callable[[float, float], WardHit | None]


def load_index(path: Path) -> tuple[WardIndex, int]:
    collection = json.loads(path.read_text(encoding="utf-8"))
    records = [
        WardRecord(
            position,
            str(feature["properties"]["code"]),
            str(feature["properties"].get("fullName") or feature["properties"].get("name")),
            feature["geometry"],
        )
        for position, feature in enumerate(collection["features"])
    ]
    vertices = sum(
        len(shapely.get_coordinates(shapely.geometry.shape(r.geometry))) for r in records
    )
    return WardIndex(records), vertices


def timed(lookup: Lookup, points: Sequence[tuple[float, float]]) -> float:
    """Seconds for looking up every point once."""
    started = time.perf_counter()
    for lat, lon in points:
        lookup(lat, lon)
    return time.perf_counter() - started


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    """CPUs this process may use, as `nproc` counts them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wards", nargs="?", type=Path, default=DEFAULT_WARDS)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    if not args.wards.exists():
        parser.error(f"{args.wards} not found (give the path to a wards GeoJSON file)")

    started = time.perf_counter()
    index, vertices = load_index(args.wards)
    build_seconds = time.perf_counter() - started
    min_lon, min_lat, max_lon, max_lat = index.bounds
    rng = random.Random(args.seed)
    points = [
        (rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)) for _ in range(args.points)
    ]

    # Same answers, point by point (the tie-break on shared edges included).
    tree_answers = [index.locate(lat, lon) for lat, lon in points]
    linear_answers = [index.locate_linear(lat, lon) for lat, lon in points]
    mismatches = sum(a != b for a, b in zip(tree_answers, linear_answers, strict=True))
    inside = sum(hit is not None for hit in tree_answers)

    tree_times, linear_times = [], []
    for _ in range(args.rounds):
        tree_times.append(timed(index.locate, points))
        linear_times.append(timed(index.locate_linear, points))
    tree_rate = len(points) / min(tree_times)
    linear_rate = len(points) / min(linear_times)
    ratios = [lin / tree for tree, lin in zip(tree_times, linear_times, strict=True)]

    print(f"machine: {cpu_model()}, nproc {nproc()}")
    print(f"python {platform.python_version()}, shapely {shapely.__version__}")
    print(f"wards: {len(index)} polygons, {vertices:,} vertices, from {args.wards}")
    print(f"index built in {build_seconds * 1000:.0f} ms (parse + validate + prepare + tree)")
    print(
        f"points: {len(points):,} uniform in the bounding box (seed {args.seed}), "
        f"{inside / len(points):.1%} inside a ward; best of {args.rounds} rounds"
    )
    print(f"STRtree index: {tree_rate:>10,.0f} lookups/s")
    print(f"linear scan:   {linear_rate:>10,.0f} lookups/s")
    print(
        f"ratio: {tree_rate / linear_rate:.2f}x (best rounds); per-round ratios "
        f"{min(ratios):.2f}-{max(ratios):.2f}, median {statistics.median(ratios):.2f}"
    )
    print(f"same answers: {'yes' if not mismatches else f'NO, {mismatches} differ'}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
