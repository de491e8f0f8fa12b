"""`glee sql` and the DuckDB command line from PyPI (duckdb-cli, the `sql` extra) on glee's files:
read-only, the README's query runs as printed, and the CLI opens what glee wrote."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.test_cli import glee

ROOT = Path(__file__).resolve().parents[1]
DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with data/glee.duckdb holding 2 bargaining games of the glee command."""
    cwd = tmp_path_factory.mktemp("sql")
    args = ["grid={max_rounds:[2,3]}", "player_1=spe", "player_2=fair", "progress=false"]
    result = glee("run", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert (cwd / "data" / "glee.duckdb").is_file()
    return cwd


def test_the_readme_query_runs_as_printed(played: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [line] = [ln for ln in readme.splitlines() if ln.startswith('glee sql data/glee.duckdb "SELECT family')]
    result = glee(*shlex.split(line)[1:], cwd=played)
    assert result.returncode == 0, result.stderr
    assert "bargaining" in result.stdout and "baseline:spe" in result.stdout and "efficiency" in result.stdout
    rows = [r for r in result.stdout.splitlines() if "bargaining" in r]
    assert len(rows) == 1 and re.search(r"│\s+2\s+│", rows[0])  # 2 games of one pair


def test_glee_run_prints_a_glee_sql_query_that_runs(played: Path) -> None:
    again = glee("run", "grid={max_rounds:[2,3]}", "player_1=spe", "player_2=fair", "progress=false", cwd=played)
    assert again.returncode == 0, again.stderr
    [line] = [ln.strip() for ln in again.stdout.splitlines() if ln.strip().startswith("glee sql ")]
    result = glee(*shlex.split(line)[1:], cwd=played)
    assert result.returncode == 0 and "baseline:fair" in result.stdout, result.stderr


def test_glee_sql_is_read_only_and_errors_are_one_line(played: Path) -> None:
    db = str(played / "data" / "glee.duckdb")
    deleted = glee("sql", db, "DELETE FROM games", cwd=played)
    assert deleted.returncode == 2 and deleted.stderr.count("\n") == 1 and "read-only" in deleted.stderr
    typo = glee("sql", db, "SELEC 1", cwd=played)
    assert typo.returncode == 2 and typo.stderr.startswith("glee: error: query: ") and "SELEC" in typo.stderr
    missing = glee("sql", str(played / "nothing.duckdb"), "SELECT 1", cwd=played)
    assert missing.returncode == 2 and "nothing.duckdb" in missing.stderr
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM games").fetchone() == (2,)


def test_without_a_query_it_is_duckdbs_prompt(played: Path) -> None:
    db = str(played / "data" / "glee.duckdb")
    prompt = subprocess.run(
        [str(Path(sys.executable).with_name("glee")), "sql", db],
        input="SELECT count(*) AS n FROM bargaining_games;\n.quit\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert prompt.returncode == 0, prompt.stderr
    assert re.search(r"│\s+2\s+│", prompt.stdout)


def test_the_duckdb_cli_from_pypi_opens_a_glee_database(played: Path) -> None:
    assert DUCKDB_CLI.is_file(), "the `sql` extra (duckdb-cli) is installed by make setup"
    version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.split()[0].lstrip("v").split(".")[:2] == duckdb.__version__.split(".")[:2]
    sql = "SELECT count(*), count(DISTINCT max_rounds) FROM bargaining_games WHERE status = 'completed'"
    result = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", str(played / "data" / "glee.duckdb"), sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2,2"
