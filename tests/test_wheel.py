"""The built wheel: it ships the Hydra config tree, and the `glee` it installs runs a sweep.

The wheel is installed without dependencies into a fresh virtualenv whose only view of
third-party packages is a .pth line naming the project venv's site-packages (instead of
installing pandas, duckdb, hydra, ... again). A .pth line adds that folder to sys.path
but does not run the .pth files inside it, so the project's editable install stays
invisible: `glee` comes from the wheel, which the test checks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the sources (the build leaves build/ and *.egg-info behind)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "glee", src / "glee", ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = dist.glob("glee_bench-*.whl")
    return built


def test_the_wheel_ships_every_config(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "glee" / "configs").rglob("*.yaml"))
    assert len(configs) >= 17
    assert [c for c in configs if c not in names] == []
    # The example template prompt set: every template of it.
    templates = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "glee" / "configs").rglob("*.j2"))
    assert len(templates) >= 7 and [t for t in templates if t not in names] == []
    assert "glee/store/schema.sql" in names
    # The pages and styles of web play and of the viewer.
    assets = sorted(
        p.relative_to(REPO).as_posix()
        for folder in ("play/web", "view")
        for p in (REPO / "glee" / folder).rglob("*")
        if p.suffix in (".html", ".css")
    )
    assert len(assets) >= 11 and [a for a in assets if a not in names] == []
    assert any(n.endswith("entry_points.txt") for n in names)


def test_the_installed_glee_runs_a_baseline_sweep(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        timeout=300,
    )
    work = tmp_path / "work"  # not the repo, so the sources are not importable from the cwd
    work.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import glee; print(glee.__file__)"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    assert where.startswith(site), where

    sweep = work / "sweep"
    run = subprocess.run(
        [
            str(venv / "bin" / "glee"),
            "run",
            "-m",
            "experiment=single",
            "game=persuasion",
            "game.rounds=3",
            "player_1=spe,fair",
            "player_2=spe",
            "progress=false",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    shards = sorted(sweep.glob("*/shard.duckdb"))
    assert len(shards) == 2
    out = work / "all.duckdb"
    merged = subprocess.run(
        [str(venv / "bin" / "glee"), "merge", str(sweep), "--out", str(out)], cwd=work, capture_output=True, text=True
    )
    assert merged.returncode == 0, merged.stderr
    with duckdb.connect(str(out), read_only=True) as con:
        rows = con.execute("SELECT player_1, player_2, status FROM games ORDER BY player_1").fetchall()
    assert rows == [("baseline:fair", "baseline:spe", "completed"), ("baseline:spe", "baseline:spe", "completed")]
