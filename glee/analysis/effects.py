"""Parameter effects as the GLEE paper quantifies them: OLS on categorical game parameters.

`parameter_effects` fits `metric ~ C(param, Treatment(reference=...)) + ... + C(agent, ...)`
and returns each level's effect against its reference with a 95 % interval.
`balanced_table` fits the model with agent x parameter interactions, predicts every cell
of the parameter grid for every agent and averages, so agents observed on different
configurations are compared on the same ones (the paper's balanced comparison).

Every regressor is categorical, so the design has one distinct row per observed cell.
The fit is made on cell means weighted by cell sizes (statsmodels WLS, same formula)
and the residual variance adds back the within-cell sum of squares: estimates, standard
errors and intervals are exactly those of OLS on the raw rows. This is done because
patsy encodes categorical factors element by element in Python (about 18 s for two
million rows), while the cell table has at most a few thousand rows.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import build_design_matrices
from pydantic import BaseModel, ConfigDict
from scipy import stats

from glee.analysis.design import Dropped, identify, require_identified
from glee.analysis.frames import (
    COLLAPSED_NOTE,
    GAME_METRICS,
    METRICS,
    configurations,
    distinct_transcripts,
    game_frame,
    parameter_columns,
)
from glee.errors import ConfigError
from glee.games import check_family, registry
from glee.games.grids import paper_grid_of

_TERM = re.compile(r"^C\((?P<var>\w+), Treatment\(reference=.*\)\)\[T\.(?P<level>.*)\]$")


class CellFit(BaseModel):
    """An OLS fit of a metric on categorical regressors, computed from cell sufficient statistics."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    params: pd.Series
    cov: pd.DataFrame
    df_resid: float
    nobs: int
    design_info: Any
    """The formula's design (patsy), to build the same columns for new rows."""
    dropped: tuple[Dropped, ...] = ()
    """Columns left out before fitting (constant, or following from another column)."""
    errors: str = "classical"
    """How the covariance was estimated: "cluster-robust over G configurations" or "classical" (and why)."""

    def intervals(self, confidence: float = 0.95) -> pd.DataFrame:
        """Estimate, low, high and p-value per term (t distribution with the raw rows' df)."""
        se = np.sqrt(np.maximum(np.diag(self.cov.to_numpy()), 0.0))  # rounding below 0: see balanced_table
        q = stats.t.ppf(0.5 + confidence / 2, self.df_resid)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_value = 2 * stats.t.sf(np.abs(self.params.to_numpy() / se), self.df_resid)
        return pd.DataFrame(
            {"estimate": self.params, "low": self.params - q * se, "high": self.params + q * se, "p_value": p_value},
            index=self.params.index,
        )


def fit_cells(
    data: pd.DataFrame,
    metric: str,
    formula: str,
    columns: Sequence[str],
    dropped: Sequence[Dropped] = (),
    cluster: str | None = None,
) -> CellFit:
    """OLS of `formula` on `data`, fitted on the cell means of `columns` (all categorical).

    With `cluster` (a column of integer cluster codes, e.g. the configuration replicates share), the
    covariance is cluster-robust, exactly statsmodels' `cov_type="cluster"` on the raw rows (CR1, t with
    G − 1 df): cells are made within clusters, and a cluster's score is the sum over its cells of
    x_c · n_c · (mean_c − x_c β). With no more clusters than coefficients that estimate is degenerate, so
    the classical one is used and `errors` says so. Raises NotIdentified when the games do not identify
    every coefficient (never a pseudo-inverse's numbers).
    """
    keys = [*columns, cluster] if cluster else list(columns)
    cells = data.groupby(keys, observed=True, dropna=False)[metric].agg(["mean", "count", "var"])
    cells = cells.reset_index().rename(columns={"mean": metric})
    for name in columns:
        cells[name] = _plain(cells[name])
    within = float(((cells["count"] - 1) * cells["var"].fillna(0.0)).sum())
    weights = cells["count"].to_numpy(dtype=float)
    model = smf.wls(formula, data=cells, weights=weights)
    require_identified(model.exog, model.exog_names, metric, weights)
    with warnings.catch_warnings():
        # The cell table is often saturated (its own residual df is 0) and statsmodels warns about
        # its scale; the scale used below is the raw rows'.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit()
    nobs = int(cells["count"].sum())
    k = int(fit.model.rank)
    df_resid = float(nobs - k)
    if df_resid <= 0:
        raise ConfigError(f"metric {metric!r}: {nobs} rows cannot fit {k} coefficients")
    bread = np.asarray(fit.normalized_cov_params)
    n_clusters = int(cells[cluster].nunique()) if cluster else 0
    if cluster and n_clusters > k:
        exog = np.asarray(model.exog)
        resid = cells[metric].to_numpy(dtype=float) - exog @ fit.params.to_numpy()
        scores = pd.DataFrame(exog * (weights * resid)[:, None]).groupby(cells[cluster].to_numpy()).sum()
        meat = scores.to_numpy().T @ scores.to_numpy()
        factor = n_clusters / (n_clusters - 1) * (nobs - 1) / (nobs - k)
        matrix = factor * bread @ meat @ bread
        df_resid = float(n_clusters - 1)
        errors = f"cluster-robust over {n_clusters} configurations"
    else:
        matrix = bread * (within + float(fit.ssr)) / df_resid
        errors = (
            f"classical (only {n_clusters} configurations for {k} coefficients: too few for cluster-robust errors)"
            if cluster
            else "classical"
        )
    cov = pd.DataFrame(matrix, index=fit.params.index, columns=fit.params.index)
    return CellFit(
        params=fit.params,
        cov=cov,
        df_resid=df_resid,
        nobs=nobs,
        design_info=fit.model.data.model_spec,
        dropped=tuple(dropped),
        errors=errors,
    )


def _plain(column: pd.Series) -> pd.Series:
    """Python scalars in a numpy column: patsy reads neither pandas' nullable dtypes nor Arrow strings."""
    return pd.Series([_scalar(v) for v in column], index=column.index, dtype=object).infer_objects()


def _scalar(value: Any) -> Any:
    """A numpy or pandas scalar as the Python value (so that its repr is a plain literal)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or name not in frame:
            raise ConfigError(f"{what}: got {name!r}; allowed: a column of the frame, one of {sorted(frame.columns)}")


def _reference(frame: pd.DataFrame, name: str, family: str | None, chosen: Mapping[str, Any]) -> Any:
    """The reference level: the chosen one, else the family's default, else the first in sorted order."""
    levels = frame[name].dropna().unique()
    if name in chosen:
        if chosen[name] not in set(levels):
            raise ConfigError(f"reference.{name}: got {chosen[name]!r}; allowed: one of {sorted(levels)}")
        return _scalar(chosen[name])
    fields = registry.family(family).params.model_fields if family is not None else {}
    if name in fields:
        default = fields[name].default
        if default in set(levels):
            return default
    return _scalar(sorted(levels, key=lambda v: (str(type(v)), v))[0])


def _term(name: str, reference: Any) -> str:
    # repr() of a float, int, bool or str is a valid Python literal that patsy evaluates back.
    return f"C({name}, Treatment(reference={reference!r}))"


VIEW_STATUSES: dict[str, tuple[str, ...]] = {"completed": ("completed",), "itt": ("completed", "forfeit")}
"""A fit's view of forfeits -> the game statuses it reads: completed games only, or intention to treat
(forfeits scored as the outcome their rules store). Failed games are in neither."""

CLUSTER = "_configuration"
"""The column of cluster codes a fit adds to its data (glee.analysis.frames.configurations)."""


def _prepare(frame: pd.DataFrame, metric: str, columns: Sequence[str], view: str = "completed") -> pd.DataFrame:
    if metric not in METRICS:
        raise ConfigError(f"metric: got {metric!r}; allowed: one of {list(METRICS)}")
    if view not in VIEW_STATUSES:
        raise ConfigError(f"view: got {view!r}; allowed: one of {list(VIEW_STATUSES)}")
    _check_columns(frame, [metric, *columns], "column")
    data = frame[[metric, *columns]].copy()
    data[CLUSTER] = configurations(frame)
    if "status" in frame:
        data = data[frame["status"].isin(VIEW_STATUSES[view]).to_numpy()]
    data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    data = data.dropna()
    if data.empty:
        raise ConfigError(f"metric {metric!r}: no {view} games with a value to fit")
    return data


def _roles(frame: pd.DataFrame, family: str | None) -> list[str]:
    """The roles present in a seat frame, in the family's seat order (seller before buyer)."""
    if "role" not in frame:
        return []
    present = [str(r) for r in frame["role"].dropna().unique()]
    order = list(registry.family(family).roles) if family is not None else []
    return sorted(present, key=lambda r: (order.index(r) if r in order else len(order), r))


def _seat_roles(frame: pd.DataFrame, family: str | None) -> tuple[str, str]:
    """The names of seat 1 and seat 2 (the family's ROLES; player_1/player_2 when unknown)."""
    if family is not None:
        first, second = registry.family(family).roles
        return str(first), str(second)
    if "role" in frame and "seat" in frame:
        names = frame.drop_duplicates("seat").set_index("seat")["role"]
        if {1, 2} <= set(names.index):
            return str(names[1]), str(names[2])
    return "player_1", "player_2"


def parameter_effects(
    frame: pd.DataFrame,
    metric: str,
    parameters: Sequence[str] | None = None,
    family: str | None = None,
    agent_column: str = "agent",
    reference: Mapping[str, Any] | None = None,
    confidence: float = 0.95,
    pooled: bool = False,
    view: str = "completed",
) -> pd.DataFrame:
    """Effect of each level of each categorical parameter and agent on `metric` (OLS), per role.

    `frame` is a seat frame (one row per game and seat). Self-gain is fitted once per role (the
    family's ROLES: seller and buyer, ...), on that role's rows, with the agent in that role as a
    regressor; `pooled=True` fits it over both seats at once instead (role "pooled", which the caption
    says). A game-level metric (efficiency, fairness, agreement) is fitted on the game frame, one row
    per game (role "game"), with the pair of agents (seat 1 vs seat 2, each with its role) as a regressor.
    `parameters` default to the family's parameters; constant ones and those that follow from another
    are dropped (`attrs["dropped"]`). `reference` picks the baseline level per column (defaults: the
    family's default configuration, then the first level in sorted order). `view` is "completed"
    (completed games only) or "itt" (intention to treat: forfeits too, scored as stored).
    Errors are cluster-robust over configurations (what replicates share); `attrs["caption"]` says
    what a row and an interval are. Returns one row per role and level: role, variable, level,
    reference, effect, low, high, p_value, n.
    """
    chosen = dict(reference or {})
    if parameters is None:
        names = [c for c in parameter_columns(check_family(family) if family else None) if c in frame]
    else:
        names = list(parameters)
    frame, collapsed = distinct_transcripts(frame)
    parts: list[tuple[str | None, pd.DataFrame, list[str]]]
    if metric in GAME_METRICS:
        games = game_frame(frame)
        agents: list[str] = []
        if agent_column and {"player_1", "player_2"} <= set(games.columns):
            # One regressor for the two agents, "<seat 1 agent> vs <seat 2 agent>": the outcome of a game is
            # the pair's, and two separate agent columns are not identified when not every pairing was played.
            first, second = _seat_roles(frame, family)
            games = games.assign(
                pair=games["player_1"].astype(str) + f" ({first}) vs " + games["player_2"].astype(str) + f" ({second})"
            )
            agents = ["pair"]
        elif agent_column and agent_column in games:
            agents = [agent_column]
        parts = [("game", games, agents)]
    else:
        roles = _roles(frame, family)
        agents = [agent_column] if agent_column else []
        if pooled or len(roles) < 2:
            parts = [("pooled" if len(roles) > 1 else (roles[0] if roles else None), frame, agents)]
        else:
            parts = [(role, frame[frame["role"] == role], agents) for role in roles]
    rows = []
    notes: list[str] = []
    dropped: list[str] = []
    for role, part, agent_columns in parts:
        columns = [*names, *agent_columns]
        data = _prepare(part, metric, columns, view)
        design = identify(data, columns, protected=agent_columns)
        variables = list(design.kept)
        if not variables:
            raise ConfigError("parameters: none of them varies in the data; nothing to estimate")
        refs = {v: _reference(data, v, family, chosen) for v in variables}
        formula = f"{metric} ~ " + " + ".join(_term(v, refs[v]) for v in variables)
        fit = fit_cells(data, metric, formula, variables, design.dropped, cluster=CLUSTER)
        ci = fit.intervals(confidence)
        for term in fit.params.index:
            match = _TERM.match(term)
            if not match:
                continue
            var = match["var"]
            rows.append(
                {
                    "role": role,
                    "variable": var,
                    "level": match["level"],
                    "reference": str(refs[var]),
                    "effect": ci.loc[term, "estimate"],
                    "low": ci.loc[term, "low"],
                    "high": ci.loc[term, "high"],
                    "p_value": ci.loc[term, "p_value"],
                    "n": fit.nobs,
                }
            )
        what = f"{role}: " if role else ""
        notes.append(f"{what}{fit.nobs} rows, errors {fit.errors}")
        dropped += [d.line() for d in design.dropped if d.line() not in dropped]
    columns_out = ["role", "variable", "level", "reference", "effect", "low", "high", "p_value", "n"]
    table = pd.DataFrame(rows, columns=columns_out)
    table.attrs["dropped"] = dropped
    table.attrs["caption"] = effects_caption(metric, parts[0][0], view, confidence, notes, dropped) + (
        " " + COLLAPSED_NOTE.format(n=collapsed) if collapsed else ""
    )
    table.attrs["collapsed"] = collapsed
    return table


def effects_caption(
    metric: str, role: str | None, view: str, confidence: float, notes: Sequence[str], dropped: Sequence[str]
) -> str:
    """What a parameter_effects row is, which games it reads, and what its intervals are over."""
    if role == "game":
        unit = f"{metric} is a game-level metric: one row per game, the pair of agents (seat 1 vs seat 2) a regressor"
    elif role == "pooled":
        unit = f"{metric} pooled over both seats (one row per game and seat, no role term): a seller's and a buyer's"
        unit += " gains are mixed, so an effect is their average"
    else:
        unit = f"{metric} fitted per role: one row per game in that role, the agent in it a regressor"
    games = "completed games only" if view == "completed" else "intention to treat (forfeits scored as stored)"
    text = (
        f"Each level's effect against its reference (OLS); {unit}; {games}. {confidence:.0%} intervals (t),"
        f" over configurations (parameters and agents, which replicates share): {'; '.join(notes)}."
    )
    if dropped:
        text += " Dropped before fitting: " + ", ".join(dropped) + "."
    return text


def prediction_grid(data: pd.DataFrame, parameters: Sequence[str], family: str | None) -> pd.DataFrame:
    """Every combination of the parameters' levels: the paper grid where observed, else the data's."""
    grid = paper_grid_of(family) if family else {}
    levels = {}
    for name in parameters:
        observed = {_scalar(v) for v in data[name].dropna().unique()}
        paper = [v for v in grid.get(name, []) if v in observed]
        levels[name] = paper or sorted(observed)
    return pd.DataFrame(list(product(*levels.values())), columns=list(levels))


def balanced_table(
    frame: pd.DataFrame,
    metric: str,
    family: str,
    parameters: Sequence[str] | None = None,
    agent_column: str = "agent",
    confidence: float = 0.95,
    view: str = "completed",
) -> pd.DataFrame:
    """Per agent and seat (its role): the metric averaged over the full parameter grid, from a fitted model.

    For each seat, fits `metric ~ C(agent) * (C(param_1) + C(param_2) + ...)` on that seat's rows
    (one per game: a game-level metric is read once per game), predicts every grid cell for every
    agent and averages the predictions. The interval is exact for that average: it is a linear
    combination L of the coefficients, with variance L Σ Lᵀ (Σ cluster-robust over configurations).
    A design the games do not identify raises NotIdentified. `view` as in parameter_effects.
    """
    fam = check_family(family)
    names = list(parameters) if parameters is not None else [c for c in paper_grid_of(fam) if c in frame]
    frame, collapsed = distinct_transcripts(frame)
    rows = []
    dropped_all: list[Dropped] = []
    notes: list[str] = []
    roles = registry.family(fam).roles
    for seat in sorted(frame["seat"].unique()):
        part = frame[frame["seat"] == seat]
        data = _prepare(part, metric, [*names, agent_column], view)
        design = identify(data, [*names, agent_column], protected=[agent_column])
        params_used = [n for n in design.kept if n != agent_column]
        dropped_all += [d for d in design.dropped if d.name != agent_column]
        agents = sorted(_scalar(a) for a in data[agent_column].unique())
        main = " + ".join(_term(v, _reference(data, v, fam, {})) for v in params_used)
        agent_term = _term(agent_column, agents[0])
        if len(agents) > 1 and main:
            formula = f"{metric} ~ {agent_term} * ({main})"
        elif len(agents) > 1:
            formula = f"{metric} ~ {agent_term}"
        else:
            formula = f"{metric} ~ {main or '1'}"
        fit = fit_cells(data, metric, formula, [agent_column, *params_used], design.dropped, cluster=CLUSTER)
        notes.append(f"{roles[int(seat) - 1]}: {fit.nobs} rows, errors {fit.errors}")
        grid = prediction_grid(data, params_used, fam)
        cov = fit.cov.to_numpy()
        beta = fit.params.to_numpy()
        z = stats.t.ppf(0.5 + confidence / 2, fit.df_resid)
        for agent in agents:
            cells = grid.assign(**{agent_column: agent, metric: 0.0})
            (matrix,) = build_design_matrices([fit.design_info], cells, return_type="matrix")
            weights = np.asarray(matrix).mean(axis=0)
            estimate = float(weights @ beta)
            # L Σ Lᵀ is never negative; with no residual variation (deterministic players) rounding can
            # leave it a hair below 0, which is a zero-width interval, not a missing one.
            se = float(np.sqrt(max(float(weights @ cov @ weights), 0.0)))
            observed = data[data[agent_column] == agent]
            rows.append(
                {
                    "agent": agent,
                    "seat": int(seat),
                    "role": roles[int(seat) - 1],
                    "metric": metric,
                    "balanced_mean": estimate,
                    "low": estimate - z * se,
                    "high": estimate + z * se,
                    "raw_mean": observed[metric].mean(),
                    "n": len(observed),
                    "grid_cells": len(grid),
                }
            )
    table = pd.DataFrame(rows)
    table.attrs["dropped"] = sorted({d.line() for d in dropped_all})
    games = "completed games only" if view == "completed" else "intention to treat (forfeits scored as stored)"
    table.attrs["caption"] = (
        f"One row per agent and role: {metric} predicted on every cell of the parameter grid from a model with"
        f" agent x parameter interactions fitted on that role's rows, and averaged; {games}."
        f" {confidence:.0%} intervals (t), over configurations: {'; '.join(notes)}."
        + (" Dropped before fitting: " + ", ".join(table.attrs["dropped"]) + "." if table.attrs["dropped"] else "")
        + (" " + COLLAPSED_NOTE.format(n=collapsed) if collapsed else "")
    )
    table.attrs["collapsed"] = collapsed
    return table
