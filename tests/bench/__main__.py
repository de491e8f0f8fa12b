"""Run the benchmarks, print one JSON figure per line, and write BENCHMARKS.md.

python -m tests.bench                 # every benchmark
python -m tests.bench engine llm      # some of them (BENCHMARKS.md then holds only these)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tests.bench.figures import Figure, machine, now, write_markdown

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("engine", "store", "analysis", "llm", "scale", "memory", "llamacpp", "sdk")


def run_module(name: str) -> list[Figure]:
    """One benchmark module in its own process; its figures (and its other output passed through)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", f"tests.bench.{name}"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    figures = []
    for line in proc.stdout:
        if line.startswith("FIGURE "):
            figure = Figure.model_validate_json(line.removeprefix("FIGURE "))
            figures.append(figure)
            print(figure.line(), flush=True)
        else:
            print(line, end="", file=sys.stderr)
    if proc.wait() != 0:
        print(f"benchmark {name} exited with {proc.returncode}", file=sys.stderr)
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=list(MODULES), help=f"any of {', '.join(MODULES)}")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; allowed: {', '.join(MODULES)}")
    started, host = now(), machine()
    figures = [f for name in args.modules for f in run_module(name)]
    write_markdown(args.out, figures, host, started)
    missed = [f.name for f in figures if f.passed is False]
    print(f"{len(figures)} figures, {len(missed)} below target{': ' + ', '.join(missed) if missed else ''}; "
          f"written to {args.out}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
