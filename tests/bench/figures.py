"""One benchmark figure, the machine it was measured on, and BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import psutil
from pydantic import BaseModel

FINDINGS = "\n## Findings\n"
"""The heading of the hand-written part of BENCHMARKS.md, kept when the figures are rewritten."""


class Figure(BaseModel):
    """A measured value, its unit, and the target it must meet (None: reported only)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    better: Literal["higher", "lower"] = "higher"
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    def line(self) -> str:
        """The figure as one JSON line (what `make bench` prints)."""
        data = {"name": self.name, "value": round(self.value, 4), "unit": self.unit}
        if self.target is not None:
            data["target"] = f"{'>=' if self.better == 'higher' else '<='} {self.target:g}"
            data["pass"] = self.passed
        if self.note:
            data["note"] = self.note
        return json.dumps(data)


def emit(figure: Figure) -> None:
    """Print a figure for the runner (one JSON line on stdout, flushed at once)."""
    print("FIGURE " + figure.model_dump_json(), flush=True)


def runqueue_wait_s() -> float:
    """Seconds this process's threads have spent ready to run but waiting for a CPU (Linux schedstat):
    on a shared machine, the part of wall time that other processes took."""
    total = 0
    for stat in Path("/proc/self/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def machine() -> str:
    """CPU model, cores and memory, e.g. `AMD EPYC, 2 cores (2 logical), 24 GB`."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    physical = psutil.cpu_count(logical=False) or os.cpu_count()
    gb = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {physical} cores ({os.cpu_count()} logical), {gb:.0f} GB; load average at start {load}"


def write_markdown(path: Path, figures: list[Figure], host: str, started: datetime) -> None:
    """BENCHMARKS.md: the table of figures with their targets, then what each one measures."""
    rows = []
    for f in figures:
        target = "" if f.target is None else f"{'≥' if f.better == 'higher' else '≤'} {f.target:g}"
        status = {True: "pass", False: "**miss**", None: ""}[f.passed]
        value = f"{f.value:,.0f}" if abs(f.value) >= 1000 else f"{f.value:.4g}"
        rows.append(f"| `{f.name}` | {value} | {f.unit} | {target} | {status} |")
    notes = [f"- `{f.name}`: {f.note}" for f in figures if f.note]
    # A hand-written section of findings (causes of misses, fixes) survives each new run.
    kept = path.read_text().partition(FINDINGS)[2] if path.exists() else ""
    text = "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `make bench` (`python -m tests.bench`); every figure of one run, on one machine.",
            "",
            f"- Machine: {host}",
            f"- Date: {started:%Y-%m-%d %H:%M} UTC",
            "",
            "| name | value | unit | target | |",
            "|---|---:|---|---|---|",
            *rows,
            "",
            "## What each figure measures",
            "",
            *notes,
            "",
            "The loopback servers run on the same cores as the harness, so on a machine with few cores",
            "(or busy with other processes: see the load average above) figures that depend on",
            "parallelism are lower bounds of what a quiet, larger machine gives.",
            "",
        ]
    )
    if kept:
        text += FINDINGS + kept
    path.write_text(text)


def now() -> datetime:
    return datetime.now(UTC)
