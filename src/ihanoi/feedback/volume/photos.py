"""A few real JPEG photos that every generated photo row points at.

The pictures are drawn (a street: sky, houses, road, and for the problem photos some heaps
of rubbish), passed through the same intake as an upload (``lib.images.process_photo``:
re-encoded, thumbnail made) and written once through the default storage under
``volume/`` (``report-01.jpg``, ``report-01-thumb.jpg``, ...): a second run finds them
there, reads them back for their size and hash, and writes nothing.
Photo pages, thumbnails and the API's photo URLs then serve real, decodable images.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from ihanoi.lib.images import process_photo

FOLDER = "volume"
REPORT_PHOTOS = 8
EVIDENCE_PHOTOS = 4
SIZE = (1280, 960)


@dataclass(frozen=True)
class PhotoAsset:
    image: str  # storage names
    thumbnail: str
    width: int
    height: int
    sha256: str


def _scene(rng: random.Random, *, cleaned: bool) -> bytes:
    width, height = SIZE
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.45, 0.6))
    top = (rng.randint(120, 190), rng.randint(160, 210), rng.randint(200, 245))
    for y in range(horizon):  # the sky, lighter towards the horizon
        shade = y / horizon
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(c + (255 - c) * shade * 0.6) for c in top),
        )
    x = 0
    while x < width:  # a row of narrow tube houses
        house = rng.randint(90, 220)
        roof = rng.randint(int(horizon * 0.25), int(horizon * 0.8))
        colour = (rng.randint(150, 240), rng.randint(140, 225), rng.randint(110, 200))
        draw.rectangle([x, roof, x + house, horizon], fill=colour, outline=(90, 80, 70))
        for wy in range(roof + 20, horizon - 30, 60):
            draw.rectangle([x + 15, wy, x + house - 15, wy + 30], fill=(70, 90, 110))
        x += house
    grey = rng.randint(85, 120)
    draw.rectangle([0, horizon, width, height], fill=(grey, grey, grey + 5))
    draw.rectangle([0, horizon, width, horizon + 40], fill=(170, 160, 150))  # the pavement
    for dash in range(0, width, 160):
        draw.rectangle([dash, height - 260, dash + 90, height - 245], fill=(235, 235, 220))
    if not cleaned:
        for _ in range(rng.randint(3, 7)):  # heaps of rubbish bags
            cx, cy = rng.randint(0, width), rng.randint(horizon + 20, height - 40)
            r = rng.randint(40, 140)
            colour = rng.choice([(40, 40, 45), (30, 90, 160), (200, 200, 190), (120, 90, 60)])
            draw.ellipse([cx - r, cy - r // 2, cx + r, cy + r // 2], fill=colour)
    # Sensor noise, so that the JPEG weighs what a phone photo weighs.
    noise = Image.effect_noise(SIZE, 28).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _stored(image_name: str, thumbnail_name: str) -> PhotoAsset | None:
    """The asset already in storage, read back (its hash is that of the bytes served)."""
    if not (default_storage.exists(image_name) and default_storage.exists(thumbnail_name)):
        return None
    with default_storage.open(image_name, "rb") as file:
        data = file.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except OSError:
        return None  # not an image (damaged): drawn and written again
    return PhotoAsset(image_name, thumbnail_name, width, height, hashlib.sha256(data).hexdigest())


def _written(rng: random.Random, role: str, image_name: str, thumbnail_name: str) -> PhotoAsset:
    photo = process_photo(_scene(rng, cleaned=role == "evidence"))
    for name, data in ((image_name, photo.full.data), (thumbnail_name, photo.thumbnail.data)):
        if default_storage.exists(name):
            default_storage.delete(name)
        default_storage.save(name, ContentFile(data))
    return PhotoAsset(image_name, thumbnail_name, photo.full.width, photo.full.height, photo.sha256)


def photo_assets(seed: int = 1022) -> dict[str, list[PhotoAsset]]:
    """The problem photos and the result (evidence) photos, drawn and written if missing."""
    assets: dict[str, list[PhotoAsset]] = {"report": [], "evidence": []}
    for role, count in (("report", REPORT_PHOTOS), ("evidence", EVIDENCE_PHOTOS)):
        for number in range(1, count + 1):
            image_name = f"{FOLDER}/{role}-{number:02d}.jpg"
            thumbnail_name = f"{FOLDER}/{role}-{number:02d}-thumb.jpg"
            asset = _stored(image_name, thumbnail_name)
            if asset is None:
                rng = random.Random(f"{seed}:{role}:{number}")  # noqa: S311 - drawing
                asset = _written(rng, role, image_name, thumbnail_name)
            assets[role].append(asset)
    return assets
