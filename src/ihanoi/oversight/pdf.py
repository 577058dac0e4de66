"""The monthly report as a PDF, in Vietnamese, per agency or city-wide, with charts.

PDF's built-in fonts have no Vietnamese letters (ơ, ư, ạ, ế...), so a TrueType font that
has them is embedded: DejaVu Sans where the system has it (Debian: fonts-dejavu-core), or
the file named by the IHANOI_PDF_FONT environment variable. Without one the export fails
with a message that says what to install, rather than printing empty boxes.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from ihanoi.agencies.models import Agency

from . import selectors
from .metrics import Counts, Rate, format_duration
from .periods import Period, PeriodKind
from .selectors import CITY, Filters, Scope

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
FONT = "IHNSans"
FONT_BOLD = "IHNSans-Bold"
REPORT_LANGUAGE = "vi"


class FontMissing(RuntimeError):
    pass


def find_font() -> tuple[Path, Path]:
    """(regular, bold) font files with Vietnamese glyphs; bold falls back to regular."""
    configured = os.environ.get("IHANOI_PDF_FONT", "")
    candidates = [configured, *FONT_CANDIDATES] if configured else list(FONT_CANDIDATES)
    for name in candidates:
        path = Path(name)
        if path.is_file():
            bold = path.with_name(
                path.name.replace("-Regular", "-Bold").replace(".ttf", "-Bold.ttf")
            )
            if not bold.is_file():
                bold = path.with_name(path.stem.replace("-Regular", "") + "-Bold.ttf")
            return path, bold if bold.is_file() else path
    raise FontMissing(
        "No TrueType font with Vietnamese letters was found for the PDF report. Install "
        "DejaVu Sans (Debian: apt-get install fonts-dejavu-core) or set IHANOI_PDF_FONT to "
        "the path of a .ttf file that has Vietnamese glyphs."
    )


def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = find_font()
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))


def _pct(rate: Rate) -> str:
    return "—" if rate.percent is None else f"{rate.percent:.1f}%"


def _chart(series: list[tuple[dt.date, Counts]]) -> object:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    drawing = Drawing(480, 330)
    labels = [d.strftime("%d") for d, _c in series]
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 40, 200, 420, 100
    bars.data = [[c.received for _d, c in series]]
    bars.categoryAxis.categoryNames = labels
    bars.categoryAxis.labels.fontName = FONT
    bars.categoryAxis.labels.fontSize = 6
    bars.valueAxis.labels.fontName = FONT
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor("#3182bd")
    drawing.add(bars)
    drawing.add(String(40, 310, _("Items received per day"), fontName=FONT_BOLD, fontSize=9))

    # On time as bars too: a day without decisions has no bar (a line would have to
    # invent a value for it).
    rates = VerticalBarChart()
    rates.x, rates.y, rates.width, rates.height = 40, 30, 420, 120
    rates.data = [[c.resolve_on_time_rate.percent for _d, c in series]]
    rates.categoryAxis.categoryNames = labels
    rates.categoryAxis.labels.fontName = FONT
    rates.categoryAxis.labels.fontSize = 6
    rates.valueAxis.valueMin, rates.valueAxis.valueMax = 0, 100
    rates.valueAxis.valueStep = 25
    rates.valueAxis.labels.fontName = FONT
    rates.bars[0].fillColor = colors.HexColor("#08519c")
    drawing.add(rates)
    drawing.add(String(40, 160, _("Resolved on time per day (%)"), fontName=FONT_BOLD, fontSize=9))
    return drawing


def monthly_report(
    *,
    month: dt.date,
    agency: Agency | None,
    now: dt.datetime,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The report of the calendar month containing ``month``, in Vietnamese."""
    _register_fonts()
    with translation.override(REPORT_LANGUAGE):
        return _build(month=month, agency=agency, now=now, progress=progress)


def _build(
    *,
    month: dt.date,
    agency: Agency | None,
    now: dt.datetime,
    progress: Callable[[int, int], None] | None,
) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    period = Period.around(PeriodKind.MONTH, month)
    scope: Scope = CITY if agency is None else Scope(frozenset({agency.pk}))
    filters = Filters(period, agency_id=agency.pk if agency else None)
    stats = selectors.agency_stats(filters, scope)
    totals = selectors.total(stats)
    if progress:
        progress(30, 100)
    series = selectors.trend(filters, scope)
    durations = totals.durations

    title_style = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20)
    heading = ParagraphStyle("heading", fontName=FONT_BOLD, fontSize=12, leading=16, spaceBefore=8)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    small = ParagraphStyle("small", fontName=FONT, fontSize=7, leading=9)
    header = ParagraphStyle("header", fontName=FONT_BOLD, fontSize=8, leading=10)
    table_style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eff3ff")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    unit = agency.name if agency else _("Hanoi, city-wide")
    story: list[Any] = [
        Paragraph(_("Monthly report on citizen feedback handling"), title_style),
        Paragraph(
            _("%(unit)s — month %(month)s") % {"unit": unit, "month": f"{period.first:%m/%Y}"},
            heading,
        ),
        Paragraph(
            _("Prepared on %(when)s from the report events (roll-ups up to %(upto)s).")
            % {
                "when": now.astimezone(period.start.tzinfo).strftime("%d/%m/%Y %H:%M"),
                "upto": _upto(),
            },
            small,
        ),
        Spacer(1, 0.3 * cm),
        Paragraph(_("Key figures"), heading),
    ]
    key_rows = [
        [_("Measure"), _("Value")],
        [_("Items received"), str(totals.received)],
        [
            _("Accepted on time"),
            f"{_pct(totals.accept_on_time_rate)} ({totals.accept_on_time}/{totals.accept_decided})",
        ],
        [
            _("Resolved on time"),
            f"{_pct(totals.resolve_on_time_rate)} "
            f"({totals.resolve_on_time}/{totals.resolve_decided})",
        ],
        [
            _("Median / 90th percentile time to accept (working time)"),
            f"{format_duration(durations['accept_work_p50'], working=True)} / "
            f"{format_duration(durations['accept_work_p90'], working=True)}",
        ],
        [
            _("Median / 90th percentile time to resolve (working time)"),
            f"{format_duration(durations['resolve_work_p50'], working=True)} / "
            f"{format_duration(durations['resolve_work_p90'], working=True)}",
        ],
        [
            _("Transferred out / returned to the hub"),
            f"{totals.transferred_out} / {totals.returned}",
        ],
        [_("Share rated"), _pct(totals.rated_share)],
        [
            _("Satisfaction (satisfied + acceptable) / rated"),
            f"{_pct(totals.satisfaction)} ({totals.satisfied + totals.acceptable}/{totals.rated})",
        ],
        [_("Reopen rate"), _pct(totals.reopen_rate)],
    ]
    if agency is None:
        key_rows.insert(1, [_("Reports submitted"), str(totals.submitted)])
        key_rows.append([_("Rejected"), str(totals.rejected)])
    table = Table(key_rows, colWidths=[10 * cm, 6 * cm])
    table.setStyle(table_style)
    story += [table, Spacer(1, 0.4 * cm), Paragraph(_("Trends"), heading), _chart(series)]
    if progress:
        progress(60, 100)

    units = selectors.named_units(filters, scope, now=now)
    story.append(Paragraph(_("Units with overdue items"), heading))
    if units:
        rows: list[list[Any]] = [
            [
                Paragraph(text, header)
                for text in (
                    _("Agency"),
                    _("Accepted late"),
                    _("Resolved late"),
                    _("Overdue now"),
                )
            ]
        ]
        rows += [
            [Paragraph(u.agency.name, body), u.accept_late, u.resolve_late, u.overdue_now]
            for u in units[:25]
        ]
        named = Table(rows, colWidths=[9 * cm, 2.3 * cm, 2.3 * cm, 2.3 * cm], repeatRows=1)
        named.setStyle(table_style)
        story.append(named)
    else:
        story.append(Paragraph(_("No unit missed a deadline this month."), body))

    if agency is None:
        story.append(Paragraph(_("Agencies"), heading))
        agencies = selectors.agencies_by_id(stats)
        rows = [
            [
                Paragraph(text, header)
                for text in (
                    _("Agency"),
                    _("Received"),
                    _("Accepted on time"),
                    _("Resolved on time"),
                    _("Satisfaction"),
                )
            ]
        ]
        ordered = sorted(
            ((agencies[k], v) for k, v in stats.items() if k in agencies),
            key=lambda kv: -kv[1].received,
        )
        for item, counts in ordered[:40]:
            rows.append(
                [
                    Paragraph(item.name, body),
                    counts.received,
                    _pct(counts.accept_on_time_rate),
                    _pct(counts.resolve_on_time_rate),
                    _pct(counts.satisfaction),
                ]
            )
        table = Table(
            rows, colWidths=[7.5 * cm, 2 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm], repeatRows=1
        )
        table.setStyle(table_style)
        story.append(table)
    story.append(Spacer(1, 0.4 * cm))
    story.append(
        Paragraph(
            _(
                "On time: the deadline in force was met (an approved extension moves it). "
                "Counts are of decisions in the month, by the local day (Asia/Ho_Chi_Minh)."
            ),
            small,
        )
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{_('Monthly report on citizen feedback handling')} {period.first:%m/%Y}",
        author="iHaNoi",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    document.build(story)
    if progress:
        progress(95, 100)
    return buffer.getvalue()


def _upto() -> str:
    state = selectors.rollup_state()
    if state is None or state.last_event_at is None:
        return "—"
    from ihanoi.lib.worktime import CITY_TZ

    return state.last_event_at.astimezone(CITY_TZ).strftime("%d/%m/%Y %H:%M")
