"""``python -m bench``: run every benchmark and print its report."""

from __future__ import annotations

import sys

from bench import hook_dispatch, jobs_pipeline, metrics_dashboard, reminders_fanout

BENCHMARKS = {
    "hook_dispatch": hook_dispatch.main,
    "jobs_pipeline": jobs_pipeline.main,
    "metrics_dashboard": metrics_dashboard.main,
    "reminders_fanout": reminders_fanout.main,
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(BENCHMARKS)
    for name in chosen:
        BENCHMARKS[name]()
