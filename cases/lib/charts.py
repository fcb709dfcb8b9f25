"""Server-rendered SVG charts: accessible, no script, no inline style (CSP ``style-src 'self'``).

Each chart is an ``<svg role="img">`` named by its ``<title>`` and summed up
by its ``<desc>`` (both via ``aria-labelledby``), with a ``<title>`` on every
bar for pointer users; the page shows the same numbers as a table next to
it. Colours are presentation attributes (allowed under the CSP, unlike
``style=""``), from the Okabe-Ito palette, which stays distinguishable with
the common colour-vision deficiencies; every bar is also labelled with text.
"""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
INK = "#1b1f24"
WIDTH = 640
ROW = 26
LABEL_WIDTH = 190
VALUE_ROOM = 56
FONT = 'font-family="system-ui, sans-serif" font-size="13"'


def _open(chart_id: str, title: str, summary: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]


def _number(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str] = (),
) -> SafeString:
    """Horizontal bars, one per row, stacked by series when there are several.

    Args:
        chart_id: unique on the page (prefix of the ids ``aria-labelledby`` names).
        title: what the chart shows.
        rows: ``(label, values)``, one value per series.
        series: the names of the series (a legend is drawn for two or more).
    """
    peak = max((sum(values) for _, values in rows), default=0) or 1
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / peak
    legend = len(series) > 1
    height = ROW * len(rows) + (ROW * ((len(series) + 2) // 3) + 8 if legend else 0) + 8
    summary = "; ".join(
        f"{label}: {_number(sum(values))}"
        + (" (" + ", ".join(f"{s} {_number(v)}" for s, v in zip(series, values, strict=False)) + ")" if legend else "")
        for label, values in rows
    )
    parts = _open(chart_id, title, summary or "—", height)
    for index, (label, values) in enumerate(rows):
        y = 4 + index * ROW
        parts.append(f'<text x="0" y="{y + 17}" fill="{INK}">{escape(label)}</text>')
        x = float(LABEL_WIDTH)
        for n, value in enumerate(values):
            if value <= 0:
                continue
            width = value * scale
            name = f"{label}: {series[n]} {_number(value)}" if legend else f"{label}: {_number(value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 8}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(name)}</title></rect>'
            )
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 17}" fill="{INK}">{_number(sum(values))}</text>')
    if legend:
        top = 8 + ROW * len(rows)
        for n, name in enumerate(series):
            x, y = (n % 3) * (WIDTH // 3), top + (n // 3) * ROW
            parts.append(f'<rect x="{x}" y="{y + 4}" width="14" height="14" fill="{PALETTE[n % len(PALETTE)]}"/>')
            parts.append(f'<text x="{x + 20}" y="{y + 16}" fill="{INK}">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def column_chart(chart_id: str, title: str, points: Sequence[tuple[str, float]]) -> SafeString:
    """Vertical columns over time (e.g. messages per month), labelled underneath and on top."""
    height, base, top = 240, 200, 24
    peak = max((value for _, value in points), default=0) or 1
    step = (WIDTH - 20) / max(len(points), 1)
    summary = "; ".join(f"{label}: {_number(value)}" for label, value in points)
    parts = _open(chart_id, title, summary or "—", height)
    parts.append(f'<line x1="10" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="{INK}" stroke-width="1"/>')
    for index, (label, value) in enumerate(points):
        bar = (base - top) * value / peak
        x = 10 + index * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{base - bar:.1f}" width="{step * 0.7:.1f}" height="{bar:.1f}" '
            f'fill="{PALETTE[0]}"><title>{escape(f"{label}: {_number(value)}")}</title></rect>'
        )
        middle = x + step / 2
        parts.append(
            f'<text x="{middle:.1f}" y="{base - bar - 5:.1f}" text-anchor="middle" fill="{INK}">{_number(value)}</text>'
        )
        if len(points) <= 12 or index % max(len(points) // 12, 1) == 0:
            parts.append(
                f'<text x="{middle:.1f}" y="{base + 18}" text-anchor="middle" fill="{INK}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
