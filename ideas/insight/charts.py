"""Charts as SVG, drawn on the server by pygal: no page needs JavaScript to show one.

Each chart is returned as a `data:` URI for an <img>: the SVG keeps its own styles
(the site's Content-Security-Policy forbids inline styles in the page itself, and
allows `data:` images), scales to the width of a phone, and never runs a script
(pygal's tooltip script is left out).  The figures are always in a table beneath
the chart as well; the chart's alt text says where.

Colours are the Okabe–Ito palette, chosen to stay distinct for readers with any
common form of colour blindness; series are also told apart by their labels.
"""
from __future__ import annotations

import base64
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pygal
from pygal.etree import etree
from pygal.style import Style

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#666666",
    opacity="1",
    opacity_hover="1",
    colors=OKABE_ITO,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    # Large on purpose: the chart is drawn 420 wide and shrinks to about 325 on a phone.
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=14,
    value_font_size=13,
    title_font_size=16,
    no_data_font_size=18,
    transition="0s",
)

WIDTH, HEIGHT = 420, 300
NO_DATA = "Nothing to show yet"


@dataclass(frozen=True)
class Chart:
    uri: str  # data:image/svg+xml;…
    alt: str  # a sentence for screen readers; the figures are in the table beneath


def _config(**extra) -> dict:
    return {
        "style": STYLE, "width": WIDTH, "height": extra.pop("height", HEIGHT), "js": [],
        "disable_xml_declaration": False, "no_data_text": NO_DATA, "legend_at_bottom": True,
        "legend_at_bottom_columns": 2, "truncate_legend": -1, "truncate_label": 22,
        "margin": 12, "spacing": 12, "show_y_guides": True, "print_values": False,
        **extra,
    }


def _render(chart, alt: str) -> Chart:
    # pygal writes its configuration into a <script> even with no script files; an
    # <img> never runs it, and leaving it out keeps the chart lean.
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    svg = etree.tostring(root, encoding="utf-8")
    return Chart("data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"), alt)


def _memo(draw):
    """Drawing an SVG costs pygal tens of milliseconds per chart, whatever the data's size,
    while the figures behind a dashboard change far less often than it is read.  A chart
    is a pure function of its labels, series and wording, so the same figures are drawn
    once per process and served from memory after: nothing to invalidate."""
    @functools.lru_cache(maxsize=256)
    def cached(labels: tuple, series: tuple, alt: str, extra: tuple) -> Chart:
        return draw(list(labels), {name: list(values) for name, values in series}, alt=alt, **dict(extra))

    @functools.wraps(draw)
    def chart(labels: Sequence[str], series: Mapping[str, Sequence[float | int | None]], *, alt: str,
              **extra) -> Chart:
        return cached(tuple(labels), tuple((name, tuple(values)) for name, values in series.items()), alt,
                      tuple(sorted(extra.items())))

    chart.cache_clear = cached.cache_clear
    return chart


def _clean(values: Sequence[float | int | None]) -> list[float | int | None]:
    return [v if v is None or v == v else None for v in values]


def _ticks(chart, series: Mapping[str, Sequence[float | int | None]]) -> None:
    """A few round ticks on the value axis (and whole numbers for counts: no “0.2 ideas”),
    so they never crowd a phone's width."""
    values = [float(v) for vs in series.values() for v in vs if v is not None]
    top = max(values, default=0.0)
    if top <= 0:
        return
    whole = all(v.is_integer() for v in values)
    rough = top / 4
    magnitude = 10 ** math.floor(math.log10(rough)) if rough > 0 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(1, math.ceil(step))
    count = math.ceil(top / step) + 1
    chart.y_labels = [round(i * step, 6) if not whole else int(i * step) for i in range(count)]


@_memo
def horizontal_bars(labels: Sequence[str], series: Mapping[str, Sequence[float | int | None]], *, alt: str,
                    value_format: str = "{:g}") -> Chart:
    """One bar per label and series, labels down the side (long labels fit a phone),
    the first label on top."""
    rows = max(1, len(labels))
    height = max(220, 60 + rows * 26 * max(1, len(series)) + (40 if len(series) > 1 else 0))
    chart = pygal.HorizontalBar(**_config(height=min(height, 900), show_legend=len(series) > 1, print_values=True,
                                          value_formatter=lambda v: value_format.format(v) if v is not None else ""))
    # pygal stacks horizontal bars from the bottom up: reversed, they read top-down.
    chart.x_labels = list(reversed(labels))
    if any(any(v for v in values if v) for values in series.values()):
        _ticks(chart, series)
        for name, values in series.items():
            chart.add(name, list(reversed(_clean(values))))
    return _render(chart, alt)


@_memo
def bars(labels: Sequence[str], series: Mapping[str, Sequence[float | int | None]], *, alt: str,
         value_format: str = "{:g}") -> Chart:
    chart = pygal.Bar(**_config(x_label_rotation=30 if len(labels) > 4 else 0, show_legend=len(series) > 1,
                                print_values=True,
                                value_formatter=lambda v: value_format.format(v) if v is not None else ""))
    chart.x_labels = list(labels)
    if any(any(v for v in values if v) for values in series.values()):
        _ticks(chart, series)
        for name, values in series.items():
            chart.add(name, _clean(values))
    return _render(chart, alt)


@_memo
def lines(labels: Sequence[str], series: Mapping[str, Sequence[int | None]], *, alt: str) -> Chart:
    """A line per series over time.  A single period is drawn as dots (a line needs two)."""
    chart = pygal.Line(**_config(x_label_rotation=30 if len(labels) > 6 else 0, show_legend=len(series) > 1,
                                 show_minor_x_labels=len(labels) <= 12, dots_size=5,
                                 show_dots=True, stroke=len(labels) > 1))
    chart.x_labels = list(labels)
    if len(labels) > 12:
        chart.x_labels_major = list(labels[:: max(1, len(labels) // 6)])
    if labels and any(any(v for v in values if v) for values in series.values()):
        _ticks(chart, series)
        for name, values in series.items():
            chart.add(name, _clean(values))
    return _render(chart, alt)
