"""The console's plots, drawn here as SVG text: no script and no library, so they show offline and under a policy
that allows no script at all. Pure functions from numbers to markup.

Every data point is an element of class `point` carrying its day (`data-day`) and value (`data-value`), with a
<title> the browser shows on hover: what a reader points at, and what the browser tests count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape

WIDTH = 720
HEIGHT = 160
PAD_LEFT = 36
PAD_BOTTOM = 18
PAD_TOP = 8
OUTCOMES = ("ok", "not_modified", "failed")  # the stacking order, bottom up


@dataclass(frozen=True)
class DayValue:
    """One day's value of a series."""

    day: date
    value: int


@dataclass(frozen=True)
class DayOutcomes:
    """One day's polls by outcome."""

    day: date
    ok: int
    not_modified: int
    failed: int


@dataclass(frozen=True)
class PollPoint:
    """One poll for the per-feed scatter plot."""

    at: float
    seconds: float
    outcome: str
    error: str | None


def _frame(label: str, top: float, body: str, first: date | None, last: date | None) -> str:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    axis = (
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH}" y2="{PAD_TOP + plot_h}"/>'
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end">{_number(top)}</text>'
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end">0</text>'
    )
    if first is not None and last is not None:
        axis += (
            f'<text class="tick" x="{PAD_LEFT}" y="{HEIGHT - 4}">{first.isoformat()}</text>'
            f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">{last.isoformat()}</text>'
        )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{axis}{body}</svg>'
    )


def _number(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def bar_chart(label: str, series: Sequence[DayValue], unit: str = "articles") -> str:
    """Bars of a value per day (one per day of `series`, which holds every day of the range in order); days with a
    value draw a bar of class `point`."""
    slot = (WIDTH - PAD_LEFT) / max(1, len(series))
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    top = max((point.value for point in series), default=0) or 1
    bars: list[str] = []
    for index, point in enumerate(series):
        if point.value <= 0:
            continue
        height = max(1.0, point.value / top * plot_h)
        x = PAD_LEFT + index * slot
        bars.append(
            f'<rect class="point bar" data-day="{point.day.isoformat()}" data-value="{point.value}" '
            f'x="{x:.1f}" y="{PAD_TOP + plot_h - height:.1f}" width="{max(1.0, slot - 1):.1f}" height="{height:.1f}">'
            f"<title>{point.day.isoformat()}: {point.value} {unit}</title></rect>"
        )
    first, last = (series[0].day, series[-1].day) if series else (None, None)
    return _frame(label, top, "".join(bars), first, last)


def stacked_outcomes(label: str, series: Sequence[DayOutcomes]) -> str:
    """Polls per day stacked by outcome (ok at the bottom, then not modified, then failed)."""
    slot = (WIDTH - PAD_LEFT) / max(1, len(series))
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    top = max((d.ok + d.not_modified + d.failed for d in series), default=0) or 1
    parts: list[str] = []
    for index, day in enumerate(series):
        base = float(PAD_TOP + plot_h)
        x = PAD_LEFT + index * slot
        for outcome in OUTCOMES:
            value = int(getattr(day, outcome))
            if value <= 0:
                continue
            height = max(1.0, value / top * plot_h)
            base -= height
            parts.append(
                f'<rect class="point outcome-{outcome}" data-day="{day.day.isoformat()}" data-outcome="{outcome}" '
                f'data-value="{value}" x="{x:.1f}" y="{base:.1f}" width="{max(1.0, slot - 1):.1f}" '
                f'height="{height:.1f}"><title>{day.day.isoformat()}: {value} {outcome.replace("_", " ")}</title>'
                "</rect>"
            )
    first, last = (series[0].day, series[-1].day) if series else (None, None)
    return _frame(label, top, "".join(parts), first, last) + _legend()


def _legend() -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span class="key outcome-{o}">{o.replace("_", " ")}</span>' for o in OUTCOMES)
        + "</p>"
    )


def poll_scatter(label: str, polls: Sequence[PollPoint]) -> str:
    """Each poll as a dot: when (across), how long it took (up), coloured by outcome."""
    if not polls:
        return _frame(label, 1, "", None, None)
    start = min(p.at for p in polls)
    span = max(1.0, max(p.at for p in polls) - start)
    top = max(p.seconds for p in polls) or 1.0
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    dots: list[str] = []
    for poll in polls:
        x = PAD_LEFT + 4 + (poll.at - start) / span * (WIDTH - PAD_LEFT - 8)
        y = PAD_TOP + plot_h - poll.seconds / top * (plot_h - 4)
        when = datetime.fromtimestamp(poll.at, UTC)
        note = f": {poll.error}" if poll.error else ""
        dots.append(
            f'<circle class="point outcome-{escape(poll.outcome)}" data-day="{when.date().isoformat()}" '
            f'data-value="{poll.seconds:.3f}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{when:%Y-%m-%d %H:%M:%S} UTC: {escape(poll.outcome)} in {poll.seconds:.2f}s{escape(note)}</title>"
            "</circle>"
        )
    first = datetime.fromtimestamp(start, UTC).date()
    last = datetime.fromtimestamp(start + span, UTC).date()
    return _frame(label, top, "".join(dots), first, last) + _legend()


def sparkline(values: Sequence[int], width: int = 120, height: int = 20) -> str:
    """A small line of values per day (oldest first), with no axes."""
    if not values or max(values) == 0:
        return f'<svg class="spark" viewBox="0 0 {width} {height}" aria-hidden="true"></svg>'
    top = max(values)
    step = width / max(1, len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 1 - v / top * (height - 2):.1f}" for i, v in enumerate(values))
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" aria-label="{sum(values)} articles">'
        f'<polyline points="{points}"/></svg>'
    )
