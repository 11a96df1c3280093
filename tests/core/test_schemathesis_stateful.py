"""Stateful fuzzing: schemathesis chains operations by the links it infers from the API document (an id that
a POST returns feeds the GET, PATCH and DELETE that take it), so generated sequences reach real records, and
every answer is held to every check schemathesis has but two (below): no 5xx, status codes, content types,
headers and bodies as documented, malformed input refused, no route reachable without a credential, a
created record readable.

It runs schemathesis' own runner (``schemathesis run --phases stateful``), whose stateful engine copes with
a server whose state moves on between sequences (hypothesis' plain state machine replays sequences to
shrink them and then finds the server's answers changed), against the same live ``carecoord serve`` as
``test_schemathesis.py`` (the owner of an organization with every module enabled), over the same operations.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.core.test_schemathesis import FUZZED_PATHS, LiveApi, live_api  # noqa: F401 - live_api is a fixture

EXCLUDED_CHECKS = "positive_data_acceptance,use_after_free"
"""Every check but two. "A schema-valid request is accepted": the service also validates what a JSON schema
does not say (an IANA time zone, a phone number, a date after another), and answers such a request 400.
"A deleted resource is gone": DELETE on a directory organization, a practitioner, a community resource or a
coverage *deactivates* it, as its summary says (referrals, requests and claims keep pointing at it), and a
GET still shows it with ``active: false``; the first stateful run in CI flagged exactly that."""
EXAMPLES = 200
FIGURES = Path(os.environ.get("TEST_ARTIFACTS_DIR", ".artifacts")) / "fuzz-stateful.json"


RUNS = 3
"""Sequences are random: about one run in eight follows no link at all, so up to three runs are made until
one does (every run must pass every check)."""


def _run(api: LiveApi, events: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    cli = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [
            str(cli), "run", f"{api.base_url}/schema/openapi.json",
            "--phases", "stateful",
            "--checks", "all",
            "--exclude-checks", EXCLUDED_CHECKS,
            "--include-path-regex", FUZZED_PATHS,
            "--header", f"Authorization: {api.headers['Authorization']}",
            "--max-examples", str(EXAMPLES),
            "--mode", "positive",
            "--request-timeout", "30",
            "--report", "ndjson", "--report-ndjson-path", str(events),
            "--no-color", "--warnings", "off",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip
    statuses: Counter[str] = Counter()
    for line in events.read_text().splitlines():
        for status in re.findall(r'"status_code": ?(\d{3})', line):
            statuses[f"{status[0]}xx"] += 1
    generated = re.search(r"(\d+) generated", run.stdout)
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", run.stdout)
    figures = {
        "cases": int(generated.group(1)) if generated else None,
        "links_covered": int(links.group(1)) if links else None,
        "links_inferred": int(links.group(2)) if links else None,
        "answers": dict(sorted(statuses.items())),
    }
    return run, figures


def test_sequences_of_calls_keep_every_check(live_api: LiveApi, tmp_path: Path) -> None:  # noqa: F811
    for attempt in range(RUNS):
        run, figures = _run(live_api, tmp_path / f"events-{attempt}.ndjson")
        summary = run.stdout[-6000:]
        print(summary)
        print(f"stateful: {figures}")
        assert run.returncode == 0, summary + run.stderr[-3000:]
        assert figures["answers"].get("5xx", 0) == 0
        assert "No links found" not in run.stdout
        if figures["links_covered"]:
            break
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2))
    # not vacuous: some calls succeeded, and at least one followed a link (an id an earlier answer gave)
    assert figures["answers"].get("2xx", 0) >= 5, "the sequences reached almost nothing"
    assert figures["links_covered"], f"no sequence followed a link in {RUNS} runs"
