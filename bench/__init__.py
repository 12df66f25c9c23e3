"""Benchmarks against named baselines measured in the same run: `make bench` (see `bench/run_all.py`).

Each script (`python -m bench.<name>`) prints a table of figures — ours, the baseline, their ratio, the goal
and whether it was met — and can write it as JSON for `bench.run_all`, which writes `docs/benchmarks.md`.
Nothing here is deployed; production code never imports the official SDK, only these scripts do.
"""
