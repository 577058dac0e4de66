"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without
styles, each mark with a <title> (its exact number) and, where given, a link to the items
behind it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Sequential palette (light → dark blue), readable by colour-blind people.
PALETTE = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
INK = "#333"
GRID = "#ddd"
ACCENT = "#08519c"


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    href: str = ""
    title: str = ""


def _link(href: str, body: str) -> str:
    return f'<a href="{escape(href)}">{body}</a>' if href else body


def _frame(width: int, height: int, title: str, body: str) -> SafeString:
    return mark_safe(  # noqa: S308 (every piece of text in ``body`` was escaped)
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="sans-serif" font-size="11"><title>{escape(title)}</title>{body}</svg>'
    )


def _nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _axis(value: float, *, whole: bool) -> tuple[float, float]:
    """(top of the axis, tick step) for values up to ``value``: four ticks or fewer, whole
    numbers for counts."""
    step = _nice_step(value / 4)
    if whole:
        step = max(1.0, math.ceil(step))
    return step * max(1, math.ceil(value / step)), step


def _x_labels(points: Sequence[Point], x_of: Any, y: float) -> str:
    every = max(1, math.ceil(len(points) / 12))
    return "".join(
        f'<text x="{x_of(i):.1f}" y="{y:.1f}" text-anchor="middle" fill="{INK}">'
        f"{escape(p.label)}</text>"
        for i, p in enumerate(points)
        if i % every == 0
    )


def bar_chart(points: Sequence[Point], *, title: str, width: int = 720, height: int = 220) -> str:
    left, right, top, bottom = 44, 8, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = _axis(max((p.value or 0 for p in points), default=0), whole=True)
    n = max(1, len(points))
    slot = plot_w / n
    parts = []
    for tick in range(round(top_value / step) + 1):
        value = step * tick
        y = top + plot_h - plot_h * value / top_value
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{value:g}</text>"
        )
    for i, point in enumerate(points):
        value = point.value or 0
        bar_h = plot_h * value / top_value
        x = left + i * slot + slot * 0.1
        rect = (
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{max(1.0, slot * 0.8):.1f}" '
            f'height="{bar_h:.1f}" fill="{ACCENT}"><title>{escape(point.title or point.label)}: '
            f"{value:g}</title></rect>"
        )
        parts.append(_link(point.href, rect))
    parts.append(_x_labels(points, lambda i: left + (i + 0.5) * slot, height - 8))
    return _frame(width, height, title, "".join(parts))


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    width: int = 720,
    height: int = 220,
    percent: bool = True,
) -> str:
    """A line through the points that have a value (a gap where there is none); the y
    axis runs 0–100 for percentages."""
    left, right, top, bottom = 44, 8, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = (
        (100.0, 25.0)
        if percent
        else _axis(max((p.value or 0 for p in points), default=0), whole=False)
    )
    n = max(1, len(points))
    slot = plot_w / n

    def x_of(i: int) -> float:
        return left + (i + 0.5) * slot

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / top_value

    parts = []
    for tick in range(round(top_value / step) + 1):
        value = step * tick
        y = y_of(value)
        label = f"{value:g}%" if percent else f"{value:g}"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{label}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, point in enumerate(points):
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x_of(i):.1f},{y_of(point.value):.1f}")
    if segment:
        segments.append(segment)
    for line in segments:
        parts.append(
            f'<polyline fill="none" stroke="{ACCENT}" stroke-width="2" points="{" ".join(line)}"/>'
        )
    for i, point in enumerate(points):
        if point.value is None:
            continue
        shown = f"{point.value:.1f}%" if percent else f"{point.value:g}"
        dot = (
            f'<circle cx="{x_of(i):.1f}" cy="{y_of(point.value):.1f}" r="3.5" fill="{ACCENT}">'
            f"<title>{escape(point.title or point.label)}: {shown}</title></circle>"
        )
        parts.append(_link(point.href, dot))
    parts.append(_x_labels(points, x_of, height - 8))
    return _frame(width, height, title, "".join(parts))


def _colour(value: float, top: float) -> str:
    if top <= 0 or value <= 0:
        return PALETTE[0]
    index = 1 + min(len(PALETTE) - 2, int((len(PALETTE) - 1) * math.sqrt(value / top)))
    return PALETTE[min(index, len(PALETTE) - 1)]


def hex_map(counts: dict[str, int], *, title: str, width: int = 720, href: str = "") -> str:
    """The H3 cells as hexagons, shaded by count (square-root scale: a few busy cells do
    not wash out the rest). Equirectangular projection, good enough for one city."""
    if not counts:
        return ""
    rings = {}
    for cell in counts:
        try:
            rings[cell] = h3.cell_to_boundary(cell)
        except (ValueError, h3.H3BaseException):
            continue
    if not rings:
        return ""
    lats = [lat for ring in rings.values() for lat, _lon in ring]
    lons = [lon for ring in rings.values() for _lat, lon in ring]
    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    squeeze = math.cos(math.radians((lat0 + lat1) / 2))
    span_x = max((lon1 - lon0) * squeeze, 1e-9)
    span_y = max(lat1 - lat0, 1e-9)
    pad = 6
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)
    if height > width * 1.5:
        scale = (width * 1.5 - 2 * pad) / span_y
        height = int(width * 1.5)
    top = max(counts.values())
    parts = []
    for cell, ring in sorted(rings.items()):
        points = " ".join(
            f"{pad + (lon - lon0) * squeeze * scale:.1f},{pad + (lat1 - lat) * scale:.1f}"
            for lat, lon in ring
        )
        count = counts[cell]
        polygon = (
            f'<polygon points="{points}" fill="{_colour(count, top)}" stroke="#fff" '
            f'stroke-width="0.5"><title>{escape(cell)}: {count}</title></polygon>'
        )
        parts.append(polygon)
    return _frame(width, height, title, "".join(parts))


def choropleth(
    shapes: Sequence[tuple[str, list[list[tuple[float, float]]], float | None, str]],
    *,
    title: str,
    width: int = 720,
) -> str:
    """Wards shaded by a value: ``shapes`` are (name, rings of (lon, lat), value, link)."""
    rings_all = [pt for _name, rings, _v, _h in shapes for ring in rings for pt in ring]
    if not rings_all:
        return ""
    lon0 = min(p[0] for p in rings_all)
    lon1 = max(p[0] for p in rings_all)
    lat0 = min(p[1] for p in rings_all)
    lat1 = max(p[1] for p in rings_all)
    squeeze = math.cos(math.radians((lat0 + lat1) / 2))
    pad = 6
    scale = (width - 2 * pad) / max((lon1 - lon0) * squeeze, 1e-9)
    height = int((lat1 - lat0) * scale + 2 * pad)
    if height > width * 1.5:
        scale = (width * 1.5 - 2 * pad) / max(lat1 - lat0, 1e-9)
        height = int(width * 1.5)
    top = max((v or 0 for _n, _r, v, _h in shapes), default=0)
    parts = []
    for name, rings, value, href in shapes:
        path = " ".join(
            "M"
            + " L".join(
                f"{pad + (lon - lon0) * squeeze * scale:.1f},{pad + (lat1 - lat) * scale:.1f}"
                for lon, lat in ring
            )
            + "Z"
            for ring in rings
        )
        shown = "—" if value is None else f"{value:g}"
        shape = (
            f'<path d="{path}" fill="{_colour(value or 0, top)}" stroke="#999" '
            f'stroke-width="0.5"><title>{escape(name)}: {shown}</title></path>'
        )
        parts.append(_link(href, shape))
    return _frame(width, height, title, "".join(parts))
