"""Charts as SVG, drawn by pygal and served as images by the app itself.

An SVG chart is its own response (``<img src=...>``), not markup inside a page: pygal
styles its drawing with an inline ``<style>``, which the pages' Content-Security-Policy
refuses, so a chart carries a policy of its own that allows just that and nothing else
(no scripts: pygal's tooltip script, fetched from a CDN by default, is switched off)."""

from __future__ import annotations

from decimal import Decimal

import pygal
from fastapi.responses import Response
from pygal.style import Style

CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1d2330", foreground_strong="#1d2330",
    foreground_subtle="#d9dee7", colors=("#2856c8", "#0f8a5f", "#b3261e", "#8a5a00", "#6b3fa0"),
    font_family="system-ui, sans-serif", title_font_size=15, label_font_size=11, major_label_font_size=11,
    legend_font_size=12, value_font_size=10,
)


def monthly_bars(title: str, months: list[str], series: dict[str, list[Decimal]], *, width: int = 720, height: int = 300) -> bytes:
    """A bar chart: one bar per month for each named series (say, one per currency)."""
    chart = pygal.Bar(
        title=title, style=_STYLE, width=width, height=height, js=[], x_label_rotation=0,
        show_legend=len(series) > 1, legend_at_bottom=True, print_values=False, margin=12,
        x_labels=[_short(month) for month in months], show_minor_x_labels=True, truncate_label=-1,
        value_formatter=lambda value: f"{value:,.2f}",
    )
    for name, values in series.items():
        chart.add(name, [float(v) for v in values])  # pygal draws floats; the figures shown on the page stay Decimal
    if not series:
        chart.add("", [0.0] * len(months))
    svg: bytes = chart.render()
    return svg


def svg_response(svg: bytes) -> Response:
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": CHART_POLICY})


def _short(period: str) -> str:
    """``2025-03`` -> ``Mar 25``."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    year, month = period.split("-")
    return f"{names[int(month) - 1]} {year[2:]}"
