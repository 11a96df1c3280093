"""Sparklines as inline SVG: presentation attributes only (the portal's CSP forbids inline style).

A sparkline is drawn in a ``WIDTH`` x ``HEIGHT`` box; a period without a value breaks the line, a lone
point is a dot, and the target (when there is one) is a dashed line. The numbers themselves are also
given as text (the chart's ``<desc>`` and a list the page shows next to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 160.0
HEIGHT = 40.0
PAD = 4.0


@dataclass(frozen=True)
class Sparkline:
    lines: list[str] = field(default_factory=list)
    """``points`` attributes of the polylines (one per run of periods with a value)."""
    dots: list[tuple[float, float]] = field(default_factory=list)
    """Lone points (a value between two periods without one)."""
    target_y: float | None = None
    width: float = WIDTH
    height: float = HEIGHT


def sparkline(values: list[float | None], target: float | None = None) -> Sparkline:
    known = [v for v in values if v is not None]
    if not known:
        return Sparkline()
    scale = [*known, *([target] if target is not None else [])]
    low, high = min(scale), max(scale)
    if high == low:
        low, high = low - 1, high + 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(HEIGHT - PAD - (value - low) / (high - low) * (HEIGHT - 2 * PAD), 1)

    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((round(PAD + index * step, 1), y(value)))
    lines = [" ".join(f"{x:g},{v:g}" for x, v in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1]
    return Sparkline(lines, dots, y(target) if target is not None else None)
