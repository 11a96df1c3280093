"""Stateful fuzzing: schemathesis chains operations by the links the API document declares and the ones it
infers (an id that a POST returns feeds the GET, PATCH and DELETE that take it, and the ``patient_id`` of an
appointment's body), so generated sequences reach real records, and
every answer is held to every check schemathesis has but two (below): no 5xx, status codes, content types,
headers and bodies as documented, malformed input refused, no route reachable without a credential, a
created record readable.

It runs schemathesis' own runner (``schemathesis run --phases stateful``), whose stateful engine copes with
a server whose state moves on between sequences (hypothesis' plain state machine replays sequences to
shrink them and then finds the server's answers changed), against the same live ``carecoord serve`` as
``test_schemathesis.py`` (the owner of an organization with every module enabled), over the same operations,
as the owner only: the security parameters the document offers (an ``X-API-Key``) are not generated.
``stateful_hooks`` moves generated bodies inside the rules a JSON schema cannot state, so that records get
created and the sequences go on from them.
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
BUDGET_SECONDS = 60
"""Scenarios are run again until the budget is spent: one pass of hypothesis' state machine stops after a
few hundred calls (and a pass in eight followed no link at all), a minute's worth reaches 55-100 links."""
FIGURES = Path(os.environ.get("TEST_ARTIFACTS_DIR", ".artifacts")) / "fuzz-stateful.json"
HOOKS = "tests.core.stateful_hooks"


def _reached(events: Path) -> tuple[Counter[str], set[str], int]:
    """Answers by class, the operations that answered 2xx, and the 2xx calls made with a linked value."""
    statuses: Counter[str] = Counter()
    succeeded: set[str] = set()
    linked = 0
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        recorder = (finished or {}).get("recorder") or {}
        interactions = recorder.get("interactions", {})
        for case_id, case in recorder.get("cases", {}).items():
            response = (interactions.get(case_id) or {}).get("response")
            if not response:
                continue
            status = int(response["status_code"])
            statuses[f"{status // 100}xx"] += 1
            if status < 300:
                succeeded.add(f"{case['value']['method']} {case['value']['path']}")
                linked += bool(case.get("is_transition_applied"))
    return statuses, succeeded, linked


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
            "--generation-with-security-parameters", "false",
            "--max-examples", str(EXAMPLES),
            "--max-time", str(BUDGET_SECONDS),
            "--mode", "positive",
            "--request-timeout", "30",
            "--report", "ndjson", "--report-ndjson-path", str(events),
            "--no-color", "--warnings", "off",
        ],
        capture_output=True,
        text=True,
        timeout=BUDGET_SECONDS + 600,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS},
    )  # fmt: skip
    statuses, succeeded, linked = _reached(events)
    generated = re.search(r"(\d+) generated", run.stdout)
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", run.stdout)
    figures = {
        "cases": int(generated.group(1)) if generated else None,
        "links_covered": int(links.group(1)) if links else None,
        "links_known": int(links.group(2)) if links else None,
        "operations_answering_2xx": len(succeeded),
        "linked_calls_answering_2xx": linked,
        "answers": dict(sorted(statuses.items())),
    }
    return run, figures


def test_sequences_of_calls_keep_every_check(live_api: LiveApi, tmp_path: Path) -> None:  # noqa: F811
    run, figures = _run(live_api, tmp_path / "events.ndjson")
    summary = run.stdout[-6000:]
    print(summary)
    print(f"stateful: {figures}")
    assert run.returncode == 0, summary + run.stderr[-3000:]
    assert figures["answers"].get("5xx", 0) == 0
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2))
    # not vacuous: sequences reached real records, through values earlier answers gave
    assert figures["operations_answering_2xx"] >= 30, "the sequences reached almost nothing"
    assert (figures["links_covered"] or 0) >= 10, "the sequences hardly followed a link"
    assert figures["linked_calls_answering_2xx"] >= 20, "linked calls hardly ever succeeded"
