"""Makefile targets. `make browser` (which `make test` runs first) on a machine without Chromium: as
root it installs Debian's chromium and chromium-driver, otherwise it prints the command in one line
and succeeds. `make notebook`: JupyterLab on notebooks/ with the project's kernel.

`id` and `apt-get` are stand-ins on a PATH without Chromium, so both branches run for real in make
and /bin/sh without touching the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _make_browser(tmp_path: Path, uid: int) -> subprocess.CompletedProcess[str]:
    assert MAKE, "make is needed to run the Makefile"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "id", f"echo {uid}")
    _tool(bin_dir, "apt-get", f'echo "$@" >> {tmp_path / "apt.calls"}')
    return subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), "browser"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_as_root_without_chromium_it_is_installed(tmp_path: Path) -> None:
    done = _make_browser(tmp_path, uid=0)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "apt.calls").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].split() == ["install", "-y", "--no-install-recommends", "chromium", "chromium-driver", "-qq"]


@pytest.mark.parametrize("uid", [1000])
def test_as_a_user_without_chromium_it_says_the_command_and_goes_on(tmp_path: Path, uid: int) -> None:
    done = _make_browser(tmp_path, uid=uid)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "apt.calls").exists()
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "apt-get install -y --no-install-recommends chromium chromium-driver" in lines[0]


def test_make_notebook_opens_jupyterlab_on_notebooks_with_the_project_kernel(tmp_path: Path) -> None:
    """JupyterLab itself is a stand-in here (it is the opt-in `notebook` extra); the kernel is real."""
    assert MAKE, "make is needed to run the Makefile"
    venv = Path(sys.executable).parent.parent
    lab = tmp_path / "jupyter-lab"
    _tool(tmp_path, "jupyter-lab", f'echo "$@" > {tmp_path / "lab.args"}')
    done = subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), "notebook", f"VENV={venv}", f"JUPYTER_LAB={lab}", "ARGS=--no-browser"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "lab.args").read_text().split() == ["--notebook-dir=notebooks", "--no-browser"]
    spec = json.loads((venv / "share" / "jupyter" / "kernels" / "glee" / "kernel.json").read_text())
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()
    assert spec["display_name"] == "glee (.venv)"
