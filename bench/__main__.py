"""``python -m bench``: the HTTP benchmark suite; ``python -m bench NAME...``: single benchmarks by name."""

from __future__ import annotations

import sys

from bench import hook_dispatch, jobs_pipeline, metrics_dashboard, reminders_fanout, suite

BENCHMARKS = {
    "suite": suite.main,
    "hook_dispatch": hook_dispatch.main,
    "jobs_pipeline": jobs_pipeline.main,
    "metrics_dashboard": metrics_dashboard.main,
    "reminders_fanout": reminders_fanout.main,
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or ["suite"]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        raise SystemExit(2)
    for name in chosen:
        BENCHMARKS[name]()
