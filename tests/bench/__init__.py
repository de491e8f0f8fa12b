"""glee's benchmarks: `make bench` (or `python -m tests.bench [NAME ...]`).

Each module measures one area in its own process (so memory and CPU figures are not mixed
up) and prints one JSON figure per line; the runner collects them, prints them, and writes
BENCHMARKS.md with the machine and the date. They live under tests/ because they drive the
loopback servers of tests/support (the fault server, a mock of an API that answers after a
fixed delay) and the real llama.cpp server with SmolLM2.
"""
