"""Draws the app's icons (a white map pin on the city's red) into static/web/icons/.

The PNGs are committed; run ``python -m ihanoi.web.icons`` after changing the drawing.
Shapes only, no font: the result is the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

RED = (200, 16, 46, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
OUT = Path(__file__).resolve().parent / "static" / "web" / "icons"
# Drawn this many times larger, then scaled down: smooth edges without anti-aliasing support.
SUPERSAMPLE = 4


def _pin(draw: ImageDraw.ImageDraw, size: int, scale: float, colour: tuple, hole: tuple) -> None:
    """A map pin centred in a ``size`` square, ``scale`` of its height."""
    height = size * scale
    radius = height * 0.32
    cx = size / 2
    top = (size - height) / 2
    cy = top + radius
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
    # The point: a triangle from the circle's widest part down to the tip.
    draw.polygon(
        [
            (cx - radius * 0.87, cy + radius * 0.5),
            (cx + radius * 0.87, cy + radius * 0.5),
            (cx, top + height),
        ],
        fill=colour,
    )
    inner = radius * 0.42
    draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=hole)


def draw_icon(size: int, *, maskable: bool = False, badge: bool = False) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), CLEAR)
    draw = ImageDraw.Draw(image)
    if badge:
        # Notification badge: the system paints it in one colour from the alpha channel.
        _pin(draw, big, 0.8, WHITE, CLEAR)
    elif maskable:
        # Full bleed; the pin stays inside the 80 % safe zone that every mask keeps.
        draw.rectangle((0, 0, big, big), fill=RED)
        _pin(draw, big, 0.5, WHITE, RED)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=RED)
        _pin(draw, big, 0.66, WHITE, RED)
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    # Two colours and their blends: a 64-colour palette keeps the edges and a tenth the bytes.
    return small.quantize(64, method=Image.Quantize.FASTOCTREE)


ICONS: dict[str, dict] = {
    "icon-192.png": {"size": 192},
    "icon-512.png": {"size": 512},
    "maskable-512.png": {"size": 512, "maskable": True},
    "apple-touch-icon.png": {"size": 180, "maskable": True},
    "favicon-32.png": {"size": 32},
    "badge-96.png": {"size": 96, "badge": True},
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, spec in ICONS.items():
        spec = dict(spec)
        size = spec.pop("size")
        draw_icon(size, **spec).save(OUT / name, optimize=True)
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
