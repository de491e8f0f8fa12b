"""notebooks/compare_agents.ipynb runs top to bottom against a small real database."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.analysis_db import baseline_database

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "compare_agents.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_executes_against_a_baseline_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = baseline_database(tmp_path / "glee.duckdb", n_games=2)
    monkeypatch.setenv("GLEE_DB", str(db))
    monkeypatch.setenv("GLEE_FAMILY", "negotiation")
    samples = Path(__file__).resolve().parent / "fixtures" / "glee_samples"
    monkeypatch.setenv("GLEE_HUMAN_DATA", str(samples))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Raises CellExecutionError, naming the cell, if any cell fails.
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    text = "\n".join(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) for out in outputs)
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 3  # effects, metric by parameter, outcomes vs theory
    assert "baseline:fair" in text and "mean_difference" in text and "balanced_mean" in text
    assert "Nature" not in text  # negotiation has no chance moves
    assert "forfeit_games" in text and "own_forfeits" in text and "seller" in text and "buyer" in text
    # GLEE's table of the real human-vs-LLM samples, under both metric variants.
    assert "6 games imported" in text
    assert "metric variant 'original'" in text and "metric variant 'glee'" in text
    assert "gemini-1.5-flash" in text and "human" in text and "first_proposer" in text
    # Per-role tables with their captions: what a row is, the two views of forfeits, what intervals are over.
    assert "fitted per role" in text and "intention to treat" in text and "cluster-robust over" in text
    assert "self_gain_itt" in text and "half-width" in text and "needed" in text
