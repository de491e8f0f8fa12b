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
from glee.analysis.frames import METRICS, parameter_columns
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

    def intervals(self, confidence: float = 0.95) -> pd.DataFrame:
        """Estimate, low, high and p-value per term (t distribution with the raw rows' df)."""
        se = np.sqrt(np.diag(self.cov.to_numpy()))
        q = stats.t.ppf(0.5 + confidence / 2, self.df_resid)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_value = 2 * stats.t.sf(np.abs(self.params.to_numpy() / se), self.df_resid)
        return pd.DataFrame(
            {"estimate": self.params, "low": self.params - q * se, "high": self.params + q * se, "p_value": p_value},
            index=self.params.index,
        )


def fit_cells(
    data: pd.DataFrame, metric: str, formula: str, columns: Sequence[str], dropped: Sequence[Dropped] = ()
) -> CellFit:
    """OLS of `formula` on `data`, fitted on the cell means of `columns` (all categorical).

    Raises NotIdentified when the games do not identify every coefficient (never a pseudo-inverse's numbers).
    """
    cells = data.groupby(list(columns), observed=True, dropna=False)[metric].agg(["mean", "count", "var"])
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
    df_resid = float(nobs - fit.model.rank)
    if df_resid <= 0:
        raise ConfigError(f"metric {metric!r}: {nobs} rows cannot fit {fit.model.rank} coefficients")
    scale = (within + float(fit.ssr)) / df_resid
    cov = pd.DataFrame(np.asarray(fit.normalized_cov_params) * scale, index=fit.params.index, columns=fit.params.index)
    return CellFit(
        params=fit.params,
        cov=cov,
        df_resid=df_resid,
        nobs=nobs,
        design_info=fit.model.data.model_spec,
        dropped=tuple(dropped),
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


def _prepare(frame: pd.DataFrame, metric: str, columns: Sequence[str]) -> pd.DataFrame:
    if metric not in METRICS:
        raise ConfigError(f"metric: got {metric!r}; allowed: one of {list(METRICS)}")
    _check_columns(frame, [metric, *columns], "column")
    data = frame[[metric, *columns]].copy()
    if "status" in frame:
        data = data[frame["status"] == "completed"]
    data[metric] = pd.to_numeric(data[metric], errors="coerce").astype(float)
    data = data.dropna()
    if data.empty:
        raise ConfigError(f"metric {metric!r}: no completed games with a value to fit")
    return data


def parameter_effects(
    frame: pd.DataFrame,
    metric: str,
    parameters: Sequence[str] | None = None,
    family: str | None = None,
    agent_column: str = "agent",
    reference: Mapping[str, Any] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Effect of each level of each categorical parameter and agent on `metric` (OLS).

    `frame` is a seat frame (one row per game and seat). `parameters` default to the
    family's parameters that vary in the data; `reference` picks the baseline level per
    column (defaults: the family's default configuration, then the first level in sorted order).
    Returns one row per level: variable, level, reference, effect, low, high, p_value, n.
    """
    chosen = dict(reference or {})
    if parameters is None:
        names = [c for c in parameter_columns(check_family(family) if family else None) if c in frame]
    else:
        names = list(parameters)
    columns = [*names, agent_column] if agent_column else names
    data = _prepare(frame, metric, columns)
    design = identify(data, columns, protected=[agent_column] if agent_column else [])
    variables = list(design.kept)
    if not variables:
        raise ConfigError("parameters: none of them varies in the data; nothing to estimate")
    refs = {v: _reference(data, v, family, chosen) for v in variables}
    formula = f"{metric} ~ " + " + ".join(_term(v, refs[v]) for v in variables)
    fit = fit_cells(data, metric, formula, variables, design.dropped)
    ci = fit.intervals(confidence)
    rows = []
    for term in fit.params.index:
        match = _TERM.match(term)
        if not match:
            continue
        var = match["var"]
        rows.append(
            {
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
    table = pd.DataFrame(rows, columns=["variable", "level", "reference", "effect", "low", "high", "p_value", "n"])
    table.attrs["dropped"] = [d.line() for d in design.dropped]
    return table


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
) -> pd.DataFrame:
    """Per agent and seat: the metric averaged over the full parameter grid, from a fitted model.

    For each seat, fits `metric ~ C(agent) * (C(param_1) + C(param_2) + ...)`, predicts every
    grid cell for every agent and averages the predictions. The interval is exact for that
    average: it is a linear combination L of the coefficients, with variance L Σ Lᵀ.
    """
    fam = check_family(family)
    names = list(parameters) if parameters is not None else [c for c in paper_grid_of(fam) if c in frame]
    rows = []
    dropped_all: list[Dropped] = []
    for seat in sorted(frame["seat"].unique()):
        part = frame[frame["seat"] == seat]
        data = _prepare(part, metric, [*names, agent_column])
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
        fit = fit_cells(data, metric, formula, [agent_column, *params_used], design.dropped)
        grid = prediction_grid(data, params_used, fam)
        cov = fit.cov.to_numpy()
        beta = fit.params.to_numpy()
        z = stats.t.ppf(0.5 + confidence / 2, fit.df_resid)
        for agent in agents:
            cells = grid.assign(**{agent_column: agent, metric: 0.0})
            (design,) = build_design_matrices([fit.design_info], cells, return_type="matrix")
            weights = np.asarray(design).mean(axis=0)
            estimate = float(weights @ beta)
            se = float(np.sqrt(weights @ cov @ weights))
            observed = data[data[agent_column] == agent]
            rows.append(
                {
                    "agent": agent,
                    "seat": int(seat),
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
    return table
