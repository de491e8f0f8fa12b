"""Comparing agents: paired differences on shared configurations, and a Bradley–Terry rating."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel, ConfigDict
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from glee.analysis.frames import METRICS
from glee.errors import ConfigError


class PairedComparison(BaseModel):
    """Mean of (agent_a − agent_b) over the cells both played, with its interval."""

    model_config = ConfigDict(frozen=True)

    agent_a: str
    agent_b: str
    metric: str
    mean_difference: float
    low: float
    high: float
    cells: int
    """Configurations x seats that both agents played (completed games with a value)."""
    games_a: int
    games_b: int


def paired_comparison(
    seats: pd.DataFrame,
    agent_a: str,
    agent_b: str,
    metric: str = "self_gain",
    cell: Sequence[str] = ("family", "params", "seat"),
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare two agents where both played: same configuration (params JSON) and same seat.

    Each cell contributes the difference of the two agents' mean metric in it; the result
    is the mean over cells with a t interval (cells are the independent units).
    """
    if metric not in METRICS:
        raise ConfigError(f"metric: got {metric!r}; allowed: one of {list(METRICS)}")
    for key in (*cell, "agent", metric):
        if key not in seats:
            raise ConfigError(f"column {key!r} is not in the seat frame")
    done = seats[(seats["status"] == "completed") & seats["agent"].isin([agent_a, agent_b])]
    done = done.dropna(subset=[metric])
    means = done.pivot_table(index=list(cell), columns="agent", values=metric, aggfunc="mean", observed=True)
    for agent in (agent_a, agent_b):
        if agent not in means:
            raise ConfigError(f"agent: {agent!r} has no completed games with {metric}")
    diff = (means[agent_a] - means[agent_b]).dropna().to_numpy(dtype=float)
    if len(diff) < 2:
        raise ConfigError(f"{agent_a!r} and {agent_b!r} share {len(diff)} cell(s); a comparison needs at least 2")
    mean = float(diff.mean())
    if np.allclose(diff, mean):
        low = high = mean
    else:
        low, high = stats.ttest_1samp(diff, 0.0).confidence_interval(confidence)
    counts = done["agent"].value_counts()
    return PairedComparison(
        agent_a=agent_a,
        agent_b=agent_b,
        metric=metric,
        mean_difference=mean,
        low=float(low),
        high=float(high),
        cells=len(diff),
        games_a=int(counts.get(agent_a, 0)),
        games_b=int(counts.get(agent_b, 0)),
    )


def bradley_terry(
    games: pd.DataFrame,
    metric: str = "self_gain",
    confidence: float = 0.95,
    tolerance: float = 1e-9,
    pseudo_wins: float = 0.5,
) -> pd.DataFrame:
    """Rate all agents from head-to-head games: who gained more (Bradley–Terry, logit link).

    P(seat 1 beats seat 2) = logistic(home + s_(player_1) − s_(player_2)), fitted as a
    binomial GLM on win counts per ordered pair (statsmodels). The first agent (sorted)
    is the reference with strength 0; `home` is the advantage of seat 1. Ties (gains
    within `tolerance`) and games without both gains are left out and counted.
    `pseudo_wins` are added to both sides of every pair that met, so that an agent that
    always wins gets a large finite strength instead of an infinite one (perfect separation).
    When every pair met in one seating only, seat advantage and strength cannot be told
    apart: the model is fitted without `home` (reported as NaN).
    Returns one row per agent: strength, low, high, games, wins, ties (best first).
    """
    if metric != "self_gain":
        raise ConfigError(f"metric: got {metric!r}; allowed: 'self_gain' (a per-seat metric)")
    done = games[games["status"] == "completed"].dropna(subset=["self_gain_1", "self_gain_2"])
    gap = done["self_gain_1"].astype(float) - done["self_gain_2"].astype(float)
    tie = gap.abs() <= tolerance
    decided = done[~tie].assign(win_1=(gap[~tie] > 0).astype(int))
    agents = sorted(set(games["player_1"]) | set(games["player_2"]))
    if len(agents) < 2:
        raise ConfigError(f"a rating needs at least two agents; got {agents}")
    pairs = decided.groupby(["player_1", "player_2"], observed=True)["win_1"].agg(["sum", "count"]).reset_index()
    if pairs.empty:
        raise ConfigError("no head-to-head game was decided (every completed game was a tie)")
    index = {a: i for i, a in enumerate(agents)}
    design = np.zeros((len(pairs), len(agents)))
    rows = np.arange(len(pairs))
    design[rows, pairs["player_1"].map(index).to_numpy(dtype=np.int64)] += 1.0
    design[rows, pairs["player_2"].map(index).to_numpy(dtype=np.int64)] -= 1.0
    exog = np.column_stack([np.ones(len(pairs)), design[:, 1:]])  # home advantage + all but the reference
    home = np.linalg.matrix_rank(exog) == exog.shape[1]
    if not home:
        exog = exog[:, 1:]
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise ConfigError(f"the head-to-head games do not connect all agents {agents}; no common rating scale")
    wins_1 = pairs["sum"].to_numpy(dtype=float) + pseudo_wins
    wins_2 = (pairs["count"] - pairs["sum"]).to_numpy(dtype=float) + pseudo_wins
    with warnings.catch_warnings():
        # A saturated model (as many pairs as strengths) has no residual df; statsmodels warns
        # about its dispersion, which a binomial model does not use.
        warnings.simplefilter("ignore", RuntimeWarning)
        # With a handful of games the pseudo-wins still leave near-certain fits; the wide
        # intervals say so, the warning adds nothing.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        fit = sm.GLM(np.column_stack([wins_1, wins_2]), exog, family=sm.families.Binomial()).fit()
    params, ci = np.asarray(fit.params), np.asarray(fit.conf_int(alpha=1 - confidence))
    if not home:
        params, ci = np.concatenate([[np.nan], params]), np.vstack([[np.nan, np.nan], ci])
    strength = np.concatenate([[0.0], params[1:]])
    low = np.concatenate([[0.0], ci[1:, 0]])
    high = np.concatenate([[0.0], ci[1:, 1]])
    played = pd.concat([done["player_1"], done["player_2"]]).value_counts()
    wins = pd.concat(
        [decided.loc[decided["win_1"] == 1, "player_1"], decided.loc[decided["win_1"] == 0, "player_2"]]
    ).value_counts()
    ties = pd.concat([done.loc[tie, "player_1"], done.loc[tie, "player_2"]]).value_counts()
    table = pd.DataFrame(
        {
            "agent": agents,
            "strength": strength,
            "low": low,
            "high": high,
            "games": [int(played.get(a, 0)) for a in agents],
            "wins": [int(wins.get(a, 0)) for a in agents],
            "ties": [int(ties.get(a, 0)) for a in agents],
        }
    )
    table.attrs["home_advantage"] = (float(params[0]), float(ci[0, 0]), float(ci[0, 1]))
    table.attrs["reference"] = agents[0]
    ordered = table.sort_values("strength", ascending=False).reset_index(drop=True)
    ordered.attrs = dict(table.attrs)
    ordered.attrs["caption"] = (
        f"One row per agent: Bradley–Terry strength (log-odds of gaining more than the opponent) against"
        f" {agents[0]}, from {len(done)} completed games. It pools both seats, with a seat-1 advantage term, because"
        f" a rating compares the two seats of each game; {confidence:.0%} intervals from the binomial fit over games."
    )
    return ordered
