"""Figures, goals and sections: what every benchmark produces, as a terminal table, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NO_VALUE = "—"
MET = "yes"
MISSED = "**no**"
MISSED_PLAIN = "NO"
COUNT_UNITS = frozenset({"calls", "files"})
COLUMNS = ("figure", "ours", "baseline", "ratio", "goal", "met?")


@dataclass(frozen=True)
class Goal:
    """What a figure should achieve: at most `max_ratio` × the baseline and/or at most `max_value`."""

    text: str
    max_ratio: float | None = None
    max_value: float | None = None
    # Strict goals ("less than") fail on equality; "never slower" goals do not.
    strict: bool = False

    def met(self, ours: float, baseline: float | None) -> bool | None:
        checks: list[bool] = []
        if self.max_ratio is not None:
            if not baseline:
                return None
            checks.append(_within(ours / baseline, self.max_ratio, self.strict))
        if self.max_value is not None:
            checks.append(_within(ours, self.max_value, self.strict))
        return all(checks) if checks else None


def _within(value: float, limit: float, strict: bool) -> bool:
    return value < limit if strict else value <= limit


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    ours: float
    baseline: float | None = None
    goal: Goal | None = None
    note: str = ""
    # Quoted in the summary at the top of docs/benchmarks.md (and by the README).
    headline: bool = False

    @property
    def ratio(self) -> float | None:
        return self.ours / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        return self.goal.met(self.ours, self.baseline) if self.goal else None


@dataclass
class Section:
    """One benchmark's result: what was measured and how, the figures, and notes on what they mean."""

    key: str
    title: str
    method: str
    baseline: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        figures = [
            Figure(**{**raw, "goal": Goal(**raw["goal"]) if raw.get("goal") else None}) for raw in data["figures"]
        ]
        return cls(**{**data, "figures": figures})

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> Section:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return cls.from_json(loaded)


# --- formatting ------------------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return NO_VALUE
    if unit in COUNT_UNITS:
        return f"{value:,.0f} {unit}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {unit}"


def format_ratio(ratio: float | None) -> str:
    return NO_VALUE if ratio is None else f"{ratio:.2f}×"


def format_met(met: bool | None, *, markdown: bool) -> str:
    if met is None:
        return NO_VALUE
    if met:
        return MET
    return MISSED if markdown else MISSED_PLAIN


def figure_row(figure: Figure, *, markdown: bool) -> tuple[str, ...]:
    return (
        f"{figure.name} ({figure.note})" if figure.note else figure.name,
        format_value(figure.ours, figure.unit),
        format_value(figure.baseline, figure.unit),
        format_ratio(figure.ratio),
        figure.goal.text if figure.goal else NO_VALUE,
        format_met(figure.met, markdown=markdown),
    )


def text_table(figures: Sequence[Figure]) -> str:
    rows = [COLUMNS, *(figure_row(f, markdown=False) for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(figures: Sequence[Figure]) -> str:
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in figure_row(f, markdown=True)) + " |" for f in figures
    ]
    return "\n".join([header, rule, *body])


def print_section(section: Section) -> None:
    print(f"\n== {section.title} ==")
    print(f"baseline: {section.baseline}")
    print(text_table(section.figures))
    for note in section.notes:
        print(f"  * {note}")
    for figure in section.missed:
        goal = figure.goal.text if figure.goal else ""
        print(f"  ! goal missed: {figure.name}: {format_value(figure.ours, figure.unit)} (goal: {goal})")
