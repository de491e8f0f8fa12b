"""GLEE's table estimator on synthetic data with known effects, and on the real samples end to end."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glee.analysis.glee_table import (
    ALICE,
    BOB,
    _terms,
    fit_glee_cells,
    glee_table,
    role_means,
    to_latex,
    to_markdown,
)
from glee.cli import main
from glee.store.glee_import import import_glee

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "glee_samples"

# Additive ground truth: metric = 0.4 + Alice's effect + Bob's effect + a's effect + b's effect.
ALICE_EFFECT = {"p": 0.0, "q": 0.1, "r": -0.05}
BOB_EFFECT = {"p": 0.02, "q": -0.1, "r": 0.05}
A_EFFECT = {0: 0.0, 1: 0.05, 2: 0.1}
B_EFFECT = {"x": 0.0, "y": -0.04}
CELLS = list(itertools.product(A_EFFECT, B_EFFECT, ALICE_EFFECT, BOB_EFFECT))
MISSING = CELLS[4::5]
"""10 of the 54 cells never played."""


def truth(a: int, b: str, alice: str, bob: str, shift: float = 0.0) -> float:
    return 0.4 + shift + ALICE_EFFECT[alice] + BOB_EFFECT[bob] + A_EFFECT[a] + B_EFFECT[b]


def synthetic(replicates: int = 1, noise: float = 0.0, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Unbalanced games over the cells that were played: Alice q meets the strong Bob r, and Alice p
    the weak Bob q, seven times as often as other pairs, and higher `a` is played more."""
    rng = np.random.default_rng(seed)
    rows = []
    for cell in CELLS:
        if cell in MISSING:
            continue
        heavy = (cell[2], cell[3]) in {("q", "r"), ("p", "q")}
        rows += [cell] * (replicates * (1 + 6 * heavy + cell[0]))
    frame = pd.DataFrame(rows, columns=["a", "b", ALICE, BOB])
    frame["m"] = [truth(*r, shift=shift) for r in rows] + rng.normal(0, noise, len(rows))
    return frame


def balanced_truth(seat: int, low: float | None = None, high: float | None = None, shift: float = 0.0) -> pd.Series:
    """The true per-agent mean over the full grid (every a, b and opponent), clipped per cell."""
    grid = pd.DataFrame(CELLS, columns=["a", "b", ALICE, BOB])
    values = np.array([truth(*r, shift=shift) for r in CELLS])
    grid["m"] = np.clip(values, -np.inf if low is None else low, np.inf if high is None else high)
    return grid.groupby(ALICE if seat == 1 else BOB)["m"].mean()


def test_terms_are_glees_interactions() -> None:
    terms = set(_terms(["a", "b", "c"]))
    assert ("a", ALICE, BOB) in terms and ("a", "b", ALICE) in terms and ("a", "b", BOB) in terms
    assert ("a", "b") in terms and (ALICE, BOB) in terms and ("a", ALICE) in terms
    assert ("a", "b", "c") not in terms  # no interaction of three parameters
    # 5 main effects, 10 pairs, and the 9 of the 10 triples that hold an agent.
    assert len(terms) == 5 + 10 + 9


def test_recovers_the_balanced_means_from_unbalanced_games_with_missing_cells() -> None:
    games = synthetic()
    fit = fit_glee_cells(games, "m", ["a", "b"])
    assert fit.cells_observed == len(CELLS) - len(MISSING)
    assert len(fit.grid) == len(CELLS)  # the missing cells are predicted too
    expected = [truth(*r) for r in fit.grid[["a", "b", ALICE, BOB]].itertuples(index=False)]
    assert fit.grid["predicted"].to_numpy() == pytest.approx(expected, abs=1e-9)
    for seat in (1, 2):
        assert role_means(fit, seat).to_dict() == pytest.approx(balanced_truth(seat).to_dict(), abs=1e-9)
    # The raw means are biased by the imbalance: Alice q mostly met the strong Bob r.
    raw = games.groupby(ALICE)["m"].mean()
    assert abs(raw["q"] - balanced_truth(1)["q"]) > 0.02
    assert fit.adj_r2 == pytest.approx(1.0)


def test_with_noise_the_estimates_are_close_and_the_fit_reports_adjusted_r2() -> None:
    fit = fit_glee_cells(synthetic(replicates=20, noise=0.05, seed=3), "m", ["a", "b"])
    for seat in (1, 2):
        assert role_means(fit, seat).to_dict() == pytest.approx(balanced_truth(seat).to_dict(), abs=0.01)
    # The signal's variance is about that of the noise: a fit far from perfect, far from nothing.
    assert 0.3 < fit.adj_r2 < 0.95


def test_predicted_cells_are_clipped_to_the_metric_range_before_averaging() -> None:
    # Shifted by 0.6, some cells exceed 1: the agent means are those of the cells clipped to [0, 1].
    fit = fit_glee_cells(synthetic(shift=0.6), "m", ["a", "b"], bounds=(0.0, 1.0))
    assert fit.grid["predicted"].max() == 1.0
    for seat in (1, 2):
        expected = balanced_truth(seat, 0.0, 1.0, shift=0.6)
        assert role_means(fit, seat).to_dict() == pytest.approx(expected.to_dict(), abs=1e-9)
        assert not np.allclose(expected.to_numpy(), balanced_truth(seat, shift=0.6).to_numpy())


def test_duplicate_design_columns_are_removed() -> None:
    # `c` always equals `b` relabelled: every column of c (and its interactions) duplicates one of b.
    games = synthetic()
    games["c"] = games["b"].map({"x": "u", "y": "v"})
    with_copy = fit_glee_cells(games, "m", ["a", "b", "c"])
    without = fit_glee_cells(games, "m", ["a", "b"])
    assert with_copy.columns == without.columns
    assert with_copy.rank == without.rank


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("table") / "glee.duckdb"
    import_glee(SAMPLES, db)
    return db


def test_the_real_samples_table_under_both_variants(samples_db: Path) -> None:
    original, fits = glee_table(samples_db, "original")
    glee, _ = glee_table(samples_db, "glee")
    assert list(original.columns) == ["gemini-1.5-flash", "human"]
    # 3 families x 2 roles x 3 metrics, in the paper's order.
    assert len(original) == 18
    assert original.index[0] == ("bargaining", "first_proposer", "self_gain")
    assert {f.metric for f in fits} == {"self_gain_1", "self_gain_2", "efficiency", "fairness"}
    # The persuasion buyer's self-gain is where the variants' formulas differ on these games.
    key = ("persuasion", "buyer", "self_gain")
    assert not np.isclose(original.loc[key].dropna().to_numpy(), glee.loc[key].dropna().to_numpy()).all()
    # Bargaining games with a deal score the same under both.
    assert original.loc["bargaining"].equals(glee.loc["bargaining"])
    markdown, latex = to_markdown(original), to_latex(original)
    assert markdown.count("\n") == 2 + 18 and "**" in markdown
    assert r"\textbf{" in latex and r"\multirow{6}{*}{bargaining}" in latex and "first\\_proposer" in latex


def test_cli_table(samples_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", str(samples_db), "--variant", "glee"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| family | role | metric | gemini-1.5-flash | human |")
    assert "adj_r2" in out
    assert main(["table", str(samples_db), "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert main(["table", str(samples_db), "--variant", "paper"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "variant: got 'paper'" in err
