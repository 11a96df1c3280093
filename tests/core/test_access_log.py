"""The access log: one line per request with method, path, status, duration and request id; never the
query string (search terms), body or headers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core.testing.fixtures import Org, create_patient


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


async def test_each_request_is_one_line_without_its_query_string(
    client: AsyncTestClient[Any], org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_patient(client, org, family_name="Wolverhampton")
    recorder = Recorder()
    monkeypatch.setattr("core.http.access_log.log", recorder)
    answer = await client.get("/api/v1/patients", params={"q": "Wolverhampton"}, headers=org.headers)
    assert answer.status_code == 200
    missing = await client.get(f"/api/v1/patients/{uuid.uuid4()}", headers=org.headers)
    assert missing.status_code == 404

    assert [event for event, _ in recorder.lines] == ["request", "request"]  # one line each
    search, refused = (fields for _, fields in recorder.lines)
    assert (search["method"], search["path"], search["status"]) == ("GET", "/api/v1/patients", 200)
    assert search["request_id"] == answer.headers["x-request-id"]
    assert search["ms"] >= 0
    assert refused["status"] == 404
    assert refused["path"].startswith("/api/v1/patients/")
    logged = repr(recorder.lines)
    assert "Wolverhampton" not in logged
    assert org.access_token not in logged
