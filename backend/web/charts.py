"""Charts as inline SVG: the geometry is computed here, drawn by templates/county/chart.html (no
script, no library: a page prints and reads the same without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chart:
    title: str
    unit: str
    width: int
    height: int
    bars: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    legend: list[dict[str, str]]
    line: str = ""  # an SVG polyline's points, for a series drawn as a line
    dots: list[dict[str, Any]] = field(default_factory=list)


CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 56, 12, 14, 30
SERIES_CLASSES = ("series-a", "series-b")


def nice_ceiling(value: float) -> float:
    """A round top for the axis (1, 2, 5 × 10ⁿ) so that tick labels read well."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    title: str,
    unit: str,
    categories: list[str],
    series: list[tuple[str, list[float]]],
    tick_format=lambda value: f"{value:g}",
    top: float | None = None,
    width: int = 460,
    height: int = 200,
) -> Chart:
    """Grouped bars: one group per category, one bar per series; y axis from 0 with 5 ticks."""
    highest = max((value for _, values in series for value in values), default=0)
    ceiling = top if top is not None else nice_ceiling(highest)
    plot_w = width - CHART_LEFT - CHART_RIGHT
    plot_h = height - CHART_TOP - CHART_BOTTOM
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.7 / max(1, len(series))
    bars, labels = [], []
    for index, category in enumerate(categories):
        group_x = CHART_LEFT + index * group_w + group_w * 0.15
        for number, (name, values) in enumerate(series):
            value = values[index]
            bar_h = plot_h * min(value, ceiling) / ceiling if ceiling else 0
            bars.append(
                {
                    "x": round(group_x + number * bar_w, 1),
                    "y": round(CHART_TOP + plot_h - bar_h, 1),
                    "w": round(bar_w - 1, 1),
                    "h": round(bar_h, 1),
                    "css": SERIES_CLASSES[number % 2],
                    "tip": f"{category} {name}: {tick_format(value)} {unit}",
                }
            )
        labels.append({"x": round(CHART_LEFT + index * group_w + group_w / 2, 1), "text": category})
    ticks = [
        {
            "y": round(CHART_TOP + plot_h - plot_h * step / 4, 1),
            "text": tick_format(ceiling * step / 4),
        }
        for step in range(5)
    ]
    legend = [{"name": name, "css": SERIES_CLASSES[n % 2]} for n, (name, _) in enumerate(series)]
    return Chart(title, unit, width, height, bars, labels, ticks, legend)


def line_chart(
    title: str, unit: str, categories: list[str], name: str, values: list[float], top: float
) -> Chart:
    """One series as a line with dots (check-in compliance in %, axis 0–top)."""
    chart = bar_chart(title, unit, categories, [(name, [0.0] * len(values))], top=top)
    chart.bars = []
    plot_w = chart.width - CHART_LEFT - CHART_RIGHT
    plot_h = chart.height - CHART_TOP - CHART_BOTTOM
    group_w = plot_w / max(1, len(values))
    points = []
    for index, value in enumerate(values):
        x = round(CHART_LEFT + index * group_w + group_w / 2, 1)
        y = round(CHART_TOP + plot_h - plot_h * min(value, top) / top, 1)
        points.append(f"{x},{y}")
        chart.dots.append({"x": x, "y": y, "tip": f"{categories[index]}: {value:g}{unit}"})
    chart.line = " ".join(points)
    return chart
