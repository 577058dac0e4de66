"""Photo intake: ``process_photo`` against a bare Pillow decode + encode of the same photos.

    .venv/bin/python bench/bench_images.py [--photos N] [--rounds R] [--size 4000x3000]

Generates N phone-like photos (default 4000×3000 = 12 megapixels, JPEG quality 92, EXIF with
GPS; every other one portrait, orientation 6, as a phone held upright writes it) into a
temporary folder. Each round then runs both methods on all photos, each in a fresh child
process (pipeline then baseline, so that both meet the same machine load) so that a child's
peak RSS is its own:

- pipeline: ``process_photo`` with its defaults (2048 px JPEG + 320 px thumbnail, metadata
  dropped, orientation and colour profile applied, SHA-256);
- baseline: ``Image.open`` + ``save`` as JPEG quality 85 at full size: the least any
  re-encoding costs, with no resize, no thumbnail, no orientation.

Prints the best round of each (photos per second, peak RSS, and RSS growth while working:
peak minus the child's RSS with its imports done and the photos read into memory) and the
ratio. Figures
are for this machine; only the ratio carries over to another one.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFilter, features

METHODS = ("pipeline", "baseline")


def phone_photo(width: int, height: int, seed: int) -> Image.Image:
    """Gradients, many hard-edged shapes and grain: encodes to about the size a phone's does
    (2.5-3 MB for 12 MP at quality 92)."""
    rng = random.Random(seed)
    image = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ],
    )
    draw = ImageDraw.Draw(image)
    for _ in range(1500):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(4, width // 10), rng.randrange(4, height // 10)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
        shape((x, y, x + w, y + h), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    # Grain two pixels wide, so that some of it survives the downscale as it does in photos.
    grain = Image.effect_noise((width // 2, height // 2), 40).resize((width, height))
    return Image.blend(image, grain.convert("RGB"), 0.15)


def phone_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Cheap Phone 3"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.DateTime] = "2025:07:01 08:30:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (21.0, 1.0, 43.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (105.0, 51.0, 10.0)
    return exif


def generate(folder: Path, count: int, width: int, height: int) -> list[Path]:
    paths = []
    for index in range(count):
        buffer = io.BytesIO()
        orientation = 6 if index % 2 else 1
        phone_photo(width, height, seed=index).save(
            buffer, "JPEG", quality=92, exif=phone_exif(orientation)
        )
        path = folder / f"IMG_{index:04d}.jpg"
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB."""
    # On Linux, ru_maxrss survives exec: a child would start at the parent's peak (the parent
    # held the generated photos). VmHWM belongs to the new address space only.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes


def worker(method: str, folder: Path) -> None:
    """Runs in the child: one method over every photo; prints one JSON line."""
    photos = [path.read_bytes() for path in sorted(folder.glob("*.jpg"))]
    run: Callable[[bytes], int]
    if method == "pipeline":
        from ihanoi.lib.images import process_photo

        def run(data: bytes) -> int:
            result = process_photo(data)
            assert max(result.full.width, result.full.height) <= 2048
            return len(result.full.data) + len(result.thumbnail.data)
    else:

        def run(data: bytes) -> int:
            out = io.BytesIO()
            Image.open(io.BytesIO(data)).save(out, "JPEG", quality=85)
            return len(out.getvalue())

    idle = peak_rss_kib()  # interpreter, imports and the photos' bytes
    run(photos[0])  # warm-up: plugin imports, first-call costs
    started = time.perf_counter()
    written = sum(run(data) for data in photos)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "photos": len(photos),
                "peak_rss_kib": peak_rss_kib(),
                "idle_rss_kib": idle,
                "bytes_out": written,
            }
        )
    )


def run_child(method: str, folder: Path) -> dict[str, float]:
    completed = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, __file__, "--worker", method, "--dir", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of each photo")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.dir)
        return 0

    width, height = (int(side) for side in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = generate(folder, args.photos, width, height)
        mean_size = sum(path.stat().st_size for path in paths) / len(paths)
        print(
            f"{len(paths)} photos {width}×{height} ({width * height / 1e6:.1f} MP), "
            f"mean {mean_size / 1e6:.2f} MB, generated in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"Python {platform.python_version()}, Pillow {Image.__version__}, "
            f"libjpeg-turbo {features.version('libjpeg_turbo')}, {os.cpu_count()} CPUs, "
            f"{args.rounds} rounds, best shown"
        )
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for method in METHODS:
                result = run_child(method, folder)
                if method not in best or result["seconds"] < best[method]["seconds"]:
                    best[method] = result

    rates = {}
    for method in METHODS:
        result = best[method]
        rates[method] = result["photos"] / result["seconds"]
        print(
            f"{method:>9}: {rates[method]:6.2f} photos/s  "
            f"{1000 / rates[method]:6.1f} ms/photo  "
            f"peak RSS {result['peak_rss_kib'] / 1024:6.0f} MiB  "
            f"(+{(result['peak_rss_kib'] - result['idle_rss_kib']) / 1024:.0f} MiB working)  "
            f"out {result['bytes_out'] / result['photos'] / 1e6:.2f} MB/photo"
        )
    print(f"pipeline / baseline throughput: {rates['pipeline'] / rates['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
