"""Identified designs: which categorical regressors a fit can estimate from the games at hand.

A parameter that follows from another (`horizon_disclosed` follows from `max_rounds`: the horizon
is told when T <= 20) or that does not vary has no effect of its own. Fitted beside the parameter
it follows from, the two split one effect between them, or the normal equations are singular and
the pseudo-inverse hands back coefficients of 1e12. `identify` drops such columns before fitting
and says which (`Design.note`); a design that is still rank deficient after that (a database
mixing two grids, an agent never seen at some level) raises `NotIdentified`, so no number is ever
shown for a coefficient the data cannot tell apart from the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from glee.errors import GleeError


class NotIdentified(GleeError):
    """The games do not identify every coefficient of the model asked for (one line: which terms)."""


class Dropped(BaseModel):
    """A column left out of a fit before fitting, and why."""

    model_config = ConfigDict(frozen=True)

    name: str
    reason: str
    """"constant" or "follows from <column>"."""

    def line(self) -> str:
        return f"{self.name} ({self.reason})"


class Design(BaseModel):
    """The regressors a fit uses and those it leaves out."""

    model_config = ConfigDict(frozen=True)

    kept: tuple[str, ...]
    dropped: tuple[Dropped, ...] = ()

    def note(self) -> str:
        """One line for a caption: which columns were dropped before fitting, or the empty string."""
        if not self.dropped:
            return ""
        return "Dropped before fitting: " + ", ".join(d.line() for d in self.dropped) + "."


def _determines(cells: pd.DataFrame, source: str, target: str) -> bool:
    """Every observed level of `source` goes with a single level of `target` (target = f(source))."""
    return bool((cells.groupby(source, observed=True, dropna=False)[target].nunique(dropna=False) <= 1).all())


def identify(data: pd.DataFrame, names: Sequence[str], protected: Sequence[str] = ()) -> Design:
    """Drop constant columns, then each column that follows from another kept one (of two that
    determine each other, the later is dropped); `protected` columns (e.g. the agent) are never
    dropped for following from a parameter (the parameter is dropped instead), only for following from
    another protected column."""
    names = list(dict.fromkeys(names))
    cells = data[names].drop_duplicates()
    dropped: list[Dropped] = []
    kept: list[str] = []
    for name in names:
        if cells[name].nunique(dropna=False) <= 1:
            dropped.append(Dropped(name=name, reason="constant"))
        else:
            kept.append(name)
    # Later columns are looked at first, so of two that determine each other the later one goes. A protected
    # column goes only for another protected one (the buyer's agent when it follows from the seller's).
    for name in reversed(list(kept)):
        sources = [o for o in kept if o != name and (name not in protected or o in protected)]
        source = next((o for o in sources if _determines(cells, o, name)), None)
        if source is not None:
            dropped.append(Dropped(name=name, reason=f"follows from {source}"))
            kept.remove(name)
    return Design(kept=tuple(kept), dropped=tuple(dropped))


def aliased_terms(exog: np.ndarray, names: Sequence[str], weights: np.ndarray | None = None) -> list[str]:
    """The design columns that add nothing to the rank of those before them (empty: full rank)."""
    matrix = np.asarray(exog, dtype=float)
    if weights is not None:
        matrix = matrix * np.sqrt(np.asarray(weights, dtype=float))[:, None]
    if np.linalg.matrix_rank(matrix) == matrix.shape[1]:
        return []
    aliased: list[str] = []
    rank = 0
    chosen: list[int] = []
    for j in range(matrix.shape[1]):
        trial = np.linalg.matrix_rank(matrix[:, [*chosen, j]])
        if trial > rank:
            chosen.append(j)
            rank = trial
        else:
            aliased.append(str(names[j]))
    return aliased


def require_identified(exog: np.ndarray, names: Sequence[str], metric: str, weights: np.ndarray | None = None) -> None:
    """Raise NotIdentified naming the terms the games cannot separate from the others."""
    aliased = aliased_terms(exog, names, weights)
    if aliased:
        shown = ", ".join(aliased[:4]) + (f" and {len(aliased) - 4} more" if len(aliased) > 4 else "")
        raise NotIdentified(
            f"{metric}: not identified from these games: {shown} cannot be told apart from the other terms"
            " (some combination of levels was never played); play the missing cells or fit fewer columns"
        )
