"""Plots: a metric against each parameter per agent, effects with intervals, outcomes vs theory.

Figures are built as `matplotlib.figure.Figure` objects (no pyplot state, no GUI backend),
so they work the same in a notebook, a report and a headless test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from glee.analysis.frames import parameter_columns
from glee.analysis.metrics import metric_table
from glee.errors import ConfigError
from glee.games import check_family, parse_params, registry
from glee.players.baseline import Theory, baselines


def theory(family: str) -> Theory:
    """The family's outcome measure compared with theory, as its baselines register it
    (e.g. bargaining: Alice's final share of M; negotiation: the final price over M)."""
    return baselines(check_family(family)).theory


def spe_prediction(family: str, params: dict[str, Any]) -> float | None:
    """What the family's benchmark (its spe baselines: `theory(family).benchmark` says which) predicts,
    on the scale of the family's theory measure (None where undefined). The strategies are the spe
    baselines' own (glee.players.baseline), so theory has one source.
    """
    return theory(family).predicted(parse_params(family, params))


def _grid(n: int, width: float = 4.0, height: float = 3.2) -> tuple[Figure, list[Any]]:
    cols = min(3, max(1, n))
    rows = math.ceil(max(1, n) / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def metric_by_parameter(
    seats: pd.DataFrame,
    metric: str,
    family: str,
    parameters: Sequence[str] | None = None,
    seat: int | None = None,
    by_role: bool = True,
) -> Figure:
    """One panel per parameter: the metric's mean and 95 % interval at each level, per agent and
    role (seller and buyer, ...: one line each, dashed for seat 2), or per agent with both seats
    pooled when `by_role` is False (the title then says so). `seat` keeps one seat only."""
    fam = check_family(family)
    data = seats[seats["family"] == fam]
    if seat is not None:
        data = data[data["seat"] == seat]
    names = list(parameters) if parameters is not None else [c for c in parameter_columns(fam) if c in data]
    names = [n for n in names if data[n].nunique() > 1]
    if data.empty or not names:
        raise ConfigError(f"{fam}: no parameter varies among these games; nothing to plot")
    fig, axes = _grid(len(names))
    agents = sorted(data["agent"].unique())
    colors = dict(zip(agents, sns.color_palette(n_colors=len(agents)), strict=True))
    roles = [r for r in registry.family(fam).roles if r in set(data["role"])] if by_role else [None]
    lines = [(agent, role) for agent in agents for role in roles]
    for ax, name in zip(axes, names, strict=True):
        keys = ("agent", "role", name) if by_role else ("agent", name)
        table = metric_table(data, by=keys, metrics=(metric,), resamples=400)
        levels = sorted(table[name].unique(), key=lambda v: (str(type(v)), v))
        x = {level: i for i, level in enumerate(levels)}
        for j, (agent, role) in enumerate(lines):
            part = table[(table["agent"] == agent) & ((table["role"] == role) if by_role else True)]
            pos = part[name].map(x).to_numpy(dtype=float) + (j - (len(lines) - 1) / 2) * 0.06
            mean = part[metric].to_numpy(dtype=float)
            err = np.vstack([mean - part[f"{metric}_low"], part[f"{metric}_high"] - mean])
            style = "--" if role is not None and role == registry.family(fam).roles[1] else "-"
            label = f"{agent} ({role})" if role is not None else agent
            ax.errorbar(
                pos, mean, yerr=np.nan_to_num(err), fmt="o", linestyle=style, capsize=3, label=label,
                color=colors[agent],
            )  # fmt: skip
        ax.set_xticks(range(len(levels)), [f"{v:g}" if isinstance(v, float) else str(v) for v in levels])
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
    _legend_below(fig, axes[0])
    where = f" (seat {seat})" if seat else (" per role" if by_role else " (both seats pooled)")
    fig.suptitle(f"{fam}: {metric} by parameter{where}")
    return fig


def _legend_below(fig: Figure, ax: Any) -> None:
    """The legend of `ax` as one legend under the figure's panels, so it never covers data."""
    if ax.get_legend() is not None:  # seaborn draws its own on the axes
        legend = ax.get_legend()
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        title = legend.get_title().get_text()
        legend.remove()
    else:
        handles, labels = ax.get_legend_handles_labels()
        title = ""
    if handles:
        fig.legend(handles, labels, title=title or None, loc="outside lower center", ncols=min(3, len(labels)))


def effects_plot(effects: pd.DataFrame, title: str = "") -> Figure:
    """Each level's effect against its reference, with its interval (a parameter_effects frame); with
    several roles in the frame, each label starts with its role."""
    if effects.empty:
        raise ConfigError("effects: the frame is empty; nothing to plot")
    labels = [
        f"{v} = {lvl} (vs {ref})" for v, lvl, ref in effects[["variable", "level", "reference"]].itertuples(False)
    ]
    if "role" in effects and effects["role"].nunique() > 1:
        labels = [f"{role}: {label}" for role, label in zip(effects["role"], labels, strict=True)]
    fig = Figure(figsize=(7, 0.35 * len(effects) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(effects))[::-1]
    est = effects["effect"].to_numpy(dtype=float)
    err = np.vstack([est - effects["low"].to_numpy(dtype=float), effects["high"].to_numpy(dtype=float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", capsize=3)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_xlabel("effect (95 % interval)")
    ax.set_title(title)
    return fig


def outcome_frame(games: pd.DataFrame, family: str) -> pd.DataFrame:
    """Completed games of `family` with the observed outcome and the spe prediction per game."""
    fam = check_family(family)
    data = games[(games["family"] == fam) & (games["status"] == "completed")].copy()
    measure = theory(fam)
    params = {key: parse_params(fam, json_params) for key, json_params in _configs(data)}
    rows = [{str(k): v for k, v in row.items()} for row in data.to_dict("records")]
    observed = [measure.observed(params[row["params"]], row) for row in rows]
    data[measure.measure] = pd.Series(observed, index=data.index, dtype=float)
    predictions = {key: measure.predicted(p) for key, p in params.items()}
    data["spe"] = data["params"].map(predictions).astype(float)
    return data


def _configs(data: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    import json

    return [(key, json.loads(key)) for key in data["params"].unique()]


def outcome_vs_theory(games: pd.DataFrame, family: str) -> Figure:
    """Left: distribution of the final outcome per agent pair, the spe predictions as lines.
    Right: observed against predicted per game, with the diagonal where they agree."""
    fam = check_family(family)
    data = outcome_frame(games, fam)
    column, label = theory(fam).measure, theory(fam).label
    data = data.dropna(subset=[column])
    if data.empty:
        raise ConfigError(f"{fam}: no completed game with a {column}; nothing to plot")
    data["pair"] = data["player_1"] + " vs " + data["player_2"]
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    sns.histplot(data=data, x=column, hue="pair", element="step", stat="density", common_norm=False, ax=left)
    for value in sorted(data["spe"].dropna().unique())[:12]:
        left.axvline(value, color="black", linestyle="--", linewidth=0.8)
    left.set_xlabel(label)
    left.set_title("observed (dashed: spe predictions)")
    sns.scatterplot(data=data, x="spe", y=column, hue="pair", ax=right, legend=False, alpha=0.6)
    lo = float(np.nanmin([data["spe"].min(), data[column].min()]))
    hi = float(np.nanmax([data["spe"].max(), data[column].max()]))
    right.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8)
    right.set_xlabel(f"spe prediction of {label}")
    right.set_ylabel(f"observed {label}")
    _legend_below(fig, left)
    fig.suptitle(f"{fam}: outcomes against {theory(fam).benchmark}")
    return fig
