"""GLEE's table estimator: the paper's table of agents by family, role and metric.

The GLEE paper does not average raw games (its data are unbalanced: not every agent pair
played every configuration). For each family and metric it fits one OLS regression with
every game parameter and both agent identities (Alice's, Bob's) as categorical factors and
these terms: every main effect; every pair of factors (parameter × parameter, parameter ×
Alice, parameter × Bob, Alice × Bob); every parameter pair × Alice and × Bob; and every
parameter × Alice × Bob. Design columns that are exact duplicates of another are removed (the
simplest term's copy is kept), the model is solved by the pseudo-inverse (the minimum-norm
solution, as statsmodels' OLS does), the fitted model predicts every cell of the full grid of
observed parameter values × Alice agents × Bob agents, each prediction is clipped to the
metric's range (the family's `metric_ranges`), and an agent's entry in a role is the mean of its
cells in that role. This module reproduces that estimator; glee's own, `balanced_table` in
glee.analysis.effects, is a different one.

The fit runs on cell means weighted by their counts, not on games: the two give the same
coefficients (the design rows of one cell are equal), while the design matrix has one row per
observed cell instead of one per game. The adjusted R² is that of the per-game regression
(within-cell variation included), computed from the same sums.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from pydantic import BaseModel, ConfigDict
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from glee.errors import ConfigError
from glee.games import GLEE_VARIANT, all_metric_variants, families, family
from glee.store.database import connect
from glee.store.schema import parameter_names

ALICE, BOB = "player_1", "player_2"
"""The frame columns of the two agents (Alice sits in seat 1)."""
SEAT_METRICS = {1: ("self_gain_1", "efficiency", "fairness"), 2: ("self_gain_2", "efficiency", "fairness")}
"""The metrics of each role's rows, in the paper's order."""
METRIC_LABELS = {
    "self_gain_1": "self_gain",
    "self_gain_2": "self_gain",
    "efficiency": "efficiency",
    "fairness": "fairness",
}
NOT_FACTORS = ("name_1", "name_2")
"""Parameters that are labels, not conditions of play (the public names)."""


class CellFit(BaseModel):
    """One family and metric: the predicted grid and how well the regression fits."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    family: str
    metric: str
    factors: list[str]
    """The game parameters used as factors (those that vary in the data)."""
    grid: pd.DataFrame
    """Every cell of the full grid (factors, player_1, player_2) with its clipped prediction `predicted`."""
    games: int
    cells_observed: int
    columns: int
    """Design columns after duplicates were removed."""
    rank: int
    adj_r2: float
    """Adjusted R² of the per-game regression (NaN when no residual degree of freedom is left)."""


def _varying_factors(games: pd.DataFrame, name: str) -> list[str]:
    """The family's parameters that take more than one value in `games`. `horizon_disclosed` is left
    out when it follows GLEE's rule (T ≤ 20) in every game: it is then a function of max_rounds."""
    out = []
    for p in parameter_names(name):
        if p in NOT_FACTORS or p not in games or games[p].nunique(dropna=True) < 2:
            continue
        derived = p == "horizon_disclosed" and "max_rounds" in games
        if derived and (games[p].astype(bool) == (games["max_rounds"] <= 20)).all():
            continue
        out.append(p)
    return out


def _terms(factors: Sequence[str]) -> list[tuple[str, ...]]:
    """GLEE's terms over `factors` (parameters) and the two agents, lowest degree first."""
    every = [*factors, ALICE, BOB]
    terms: list[tuple[str, ...]] = [(f,) for f in every]
    terms += list(itertools.combinations(every, 2))
    for triple in itertools.combinations(every, 3):
        if ALICE in triple or BOB in triple:
            terms.append(triple)
    return terms


def _drop_duplicate_columns(design: pd.DataFrame, degree: dict[str, int]) -> list[str]:
    """The design columns kept: of columns equal on every row, the one of the lowest degree (then the
    first); an all-zero column is dropped (it would get a zero coefficient). glee.analysis.effects
    will have a general way to drop aliased columns; this is the exact-duplicate rule of GLEE's code."""
    order = sorted(design.columns, key=lambda c: (degree[c], list(design.columns).index(c)))
    seen: set[bytes] = set()
    kept = []
    values = design.to_numpy()
    index = {c: i for i, c in enumerate(design.columns)}
    for column in order:
        vector = values[:, index[column]]
        if not vector.any():
            continue
        key = np.ascontiguousarray(vector).tobytes()
        if key in seen:
            continue
        seen.add(key)
        kept.append(column)
    return [c for c in design.columns if c in set(kept)]


def fit_glee_cells(
    games: pd.DataFrame,
    metric: str,
    factors: Sequence[str],
    bounds: tuple[float | None, float | None] = (None, None),
    name: str = "",
) -> CellFit:
    """GLEE's regression of `metric` on `factors` and both agents (see the module docstring).

    `games`: one row per game with the factor columns, player_1, player_2 and `metric`; rows with
    a missing factor or agent are left out, rows with a missing metric are left out of the fit but
    their values still span the grid."""
    columns = [*factors, ALICE, BOB]
    missing = [c for c in [*columns, metric] if c not in games]
    if missing:
        raise ConfigError(f"games: lacks column(s) {', '.join(missing)}; needed: {', '.join([*columns, metric])}")
    frame = games.dropna(subset=columns)
    levels = {c: sorted(frame[c].unique().tolist(), key=_sort_key) for c in columns}
    data = frame.dropna(subset=[metric])
    if data.empty:
        raise ConfigError(f"{name or 'games'}.{metric}: no game with this metric to fit")
    safe = {c: f"x{i}" for i, c in enumerate(columns)}

    def categorical(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {safe[c]: pd.Categorical(df[c].tolist(), categories=levels[c]) for c in columns}, index=df.index
        )

    y = data[metric].astype(float)
    grouped = pd.DataFrame({"y": y, **{c: data[c] for c in columns}}).groupby(columns, observed=True, sort=True)["y"]
    cells = grouped.agg(["mean", "count", "var"]).reset_index()
    within = float((cells["var"].fillna(0.0) * (cells["count"] - 1)).sum())
    formula = " + ".join(":".join(safe[f] for f in term) for term in _terms(factors))
    design = patsy.dmatrix(formula, categorical(cells), return_type="dataframe")
    info = design.design_info
    degree = {}
    for term, span in info.term_slices.items():
        for column in info.column_names[span]:
            degree[column] = len(term.factors)
    kept = _drop_duplicate_columns(design, degree)
    x = design[kept].to_numpy()
    weights = cells["count"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        # Rank deficiency is expected (aliased interactions of missing cells): pinv gives GLEE's solution.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = sm.WLS(cells["mean"].to_numpy(), x, weights=weights).fit(method="pinv")
    rank = int(np.linalg.matrix_rank(x * np.sqrt(weights)[:, None]))
    fitted = x @ fit.params
    n = int(weights.sum())
    ssr = within + float((weights * (cells["mean"].to_numpy() - fitted) ** 2).sum())
    sst = float(((y - y.mean()) ** 2).sum())
    dof = n - rank
    adj_r2 = 1 - (ssr / dof) / (sst / (n - 1)) if dof > 0 and n > 1 and sst > 0 else float("nan")

    grid = pd.DataFrame(list(itertools.product(*(levels[c] for c in columns))), columns=columns)
    (grid_design,) = patsy.build_design_matrices([info], categorical(grid), return_type="dataframe")
    predicted = grid_design[kept].to_numpy() @ fit.params
    low, high = bounds
    grid["predicted"] = np.clip(predicted, -np.inf if low is None else low, np.inf if high is None else high)
    return CellFit(
        family=name,
        metric=metric,
        factors=list(factors),
        grid=grid,
        games=n,
        cells_observed=len(cells),
        columns=len(kept),
        rank=rank,
        adj_r2=adj_r2,
    )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | bool) else (1, str(value))


def role_means(fit: CellFit, seat: Literal[1, 2]) -> pd.Series:
    """An agent's entry in a role: the mean of its grid cells in that seat (agent -> value)."""
    column = ALICE if seat == 1 else BOB
    return fit.grid.groupby(column, sort=True)["predicted"].mean()


def load_family_games(db_path: Path, name: str, variant: str = "original") -> pd.DataFrame:
    """One row per completed game of family `name`: its parameters, player_1, player_2 and its metrics
    under `variant` (self_gain_1, self_gain_2, efficiency, fairness), read-only."""
    if variant not in all_metric_variants():
        raise ConfigError(f"variant: got {variant!r}; allowed: one of {list(all_metric_variants())}")
    family(name)
    params = parameter_names(name)
    cols = ", ".join(f'v."{p}"' for p in params)
    con = connect(db_path, read_only=True)
    try:
        has_table = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'outcome_metrics'").fetchone()
        if not has_table or not has_table[0]:
            raise ConfigError(
                f"db: {db_path} has no metric variants yet (written by an earlier glee); "
                "open it for writing once (e.g. glee merge or a run) to compute them"
            )
        frame = con.execute(
            f"SELECT v.game_id, v.player_1, v.player_2, {cols}, m.self_gain_1, m.self_gain_2, m.efficiency, "
            f"m.fairness FROM {name}_games v JOIN outcome_metrics m USING (game_id) "
            "WHERE v.status = 'completed' AND m.variant = ? ORDER BY v.game_id",
            [variant],
        ).df()
    finally:
        con.close()
    return frame


def glee_table(
    db_path: Path,
    variant: str = "original",
    names: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[CellFit]]:
    """GLEE's table from a database: one row per (family, role, metric), one column per agent (NaN
    where an agent never sat in that role), and the fits behind it (adjusted R² per family and metric).

    `variant`: the metric variant to tabulate ("original" reproduces the paper's numbers; "glee" uses
    glee's corrected metrics)."""
    rows: list[dict[str, Any]] = []
    fits: list[CellFit] = []
    for name in names or families():
        games = load_family_games(db_path, name, variant)
        if games.empty:
            continue
        decl = family(name)
        factors = _varying_factors(games, name)
        by_metric: dict[str, CellFit] = {}
        for metric in dict.fromkeys(m for seat in (1, 2) for m in SEAT_METRICS[seat]):
            if games[metric].notna().any():
                by_metric[metric] = fit_glee_cells(games, metric, factors, decl.metric_range(metric), name)
                fits.append(by_metric[metric])
        for seat in (1, 2):
            for metric in SEAT_METRICS[seat]:
                if metric not in by_metric:
                    continue
                entry: dict[str, Any] = {
                    "family": name,
                    "role": decl.roles[seat - 1],
                    "metric": METRIC_LABELS.get(metric, metric),
                }
                entry.update({str(agent): v for agent, v in role_means(by_metric[metric], seat).items()})
                rows.append(entry)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["family", "role", "metric"]), fits
    table = table.set_index(["family", "role", "metric"])
    return table[sorted(table.columns, key=str)], fits


def fits_frame(fits: Sequence[CellFit]) -> pd.DataFrame:
    """One row per fit: family, metric, games, observed cells, grid cells, design columns, rank, adjusted R²."""
    return pd.DataFrame(
        [
            {
                "family": f.family,
                "metric": f.metric,
                "games": f.games,
                "cells_observed": f.cells_observed,
                "grid_cells": len(f.grid),
                "columns": f.columns,
                "rank": f.rank,
                "adj_r2": f.adj_r2,
            }
            for f in fits
        ]
    )


def _rows(table: pd.DataFrame) -> list[tuple[tuple[str, str, str], pd.Series]]:
    """The table's rows as ((family, role, metric), values by agent)."""
    out = []
    for i, key in enumerate(table.index):
        family_name, role, metric = (str(k) for k in key)
        out.append(((family_name, role, metric), table.iloc[i]))
    return out


def _cells(row: pd.Series, digits: int, bold: tuple[str, str]) -> list[str]:
    """A row's values as text, the best (largest, as printed) in bold, '-' where missing."""
    text = [("-" if pd.isna(v) else f"{v:.{digits}f}") for v in row]
    printed = [float(t) for t in text if t != "-"]
    best = f"{max(printed):.{digits}f}" if printed else None
    return [f"{bold[0]}{t}{bold[1]}" if t == best else t for t in text]


# Markdown and LaTeX are written here rather than with DataFrame.to_markdown / Styler.to_latex:
# those need tabulate and jinja2, which are not dependencies of glee, and the per-cell bold of
# the best value is most of the work either way.
def to_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """The table as GitHub Markdown: family, role, metric, then one column per agent; best in bold."""
    agents = [str(c) for c in table.columns]
    lines = [
        "| " + " | ".join(["family", "role", "metric", *agents]) + " |",
        "|" + "---|" * (3 + len(agents)),
    ]
    for key, row in _rows(table):
        lines.append("| " + " | ".join([*key, *_cells(row, digits, ("**", "**"))]) + " |")
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def _latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def to_latex(table: pd.DataFrame, digits: int = 2, variant: str | None = None) -> str:
    """The table as a LaTeX tabular (booktabs), the paper's layout: family and role as multirows."""
    agents = [_latex_escape(str(c)) for c in table.columns]
    out = [
        r"\begin{tabular}{lll|" + "l" * len(agents) + "}",
        r"\toprule",
        "Family & Role & Metric & " + " & ".join(agents) + r" \\",
        r"\midrule",
    ]
    rows = _rows(table)
    keys = [key for key, _ in rows]
    for i, (key, row) in enumerate(rows):
        fam, role, metric = key
        first_of_family = i == 0 or keys[i - 1][0] != key[0]
        first_of_role = first_of_family or keys[i - 1][1] != key[1]
        n_family = sum(1 for k in keys if k[0] == key[0])
        n_role = sum(1 for k in keys if k[0] == key[0] and k[1] == key[1])
        cells = [
            rf"\multirow{{{n_family}}}{{*}}{{{_latex_escape(fam)}}}" if first_of_family else "",
            rf"\multirow{{{n_role}}}{{*}}{{{_latex_escape(role)}}}" if first_of_role else "",
            _latex_escape(metric.replace("_", " ")),
            *_cells(row, digits, (r"\textbf{", "}")),
        ]
        line = " & ".join(cells) + r" \\"
        last = i == len(keys) - 1
        if not last and keys[i + 1][0] != key[0]:
            line += r" \midrule"
        elif not last and keys[i + 1][1] != key[1]:
            line += rf" \cmidrule{{2-{3 + len(agents)}}}"
        out.append(line)
    out += [r"\bottomrule", r"\end{tabular}"]
    if variant:
        out.insert(0, f"% GLEE's table estimator, metric variant {variant}")
    return "\n".join(out) + "\n"


def variant_names() -> list[str]:
    """The metric variants a table can be made with (glee first)."""
    return [GLEE_VARIANT, *(v for v in all_metric_variants() if v != GLEE_VARIANT)]


__all__ = [
    "CellFit",
    "fit_glee_cells",
    "fits_frame",
    "glee_table",
    "load_family_games",
    "role_means",
    "to_latex",
    "to_markdown",
    "variant_names",
]
