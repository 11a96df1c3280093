"""Which occurrences of a cron expression are due, in a tenant's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.cron import due_occurrences, validate_cron


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_due_occurrences_lie_in_the_catch_up_window_oldest_first() -> None:
    found = due_occurrences("*/5 * * * *", "UTC", at("2026-01-01T12:07:30+00:00"), catch_up=timedelta(minutes=10))
    assert found == [at("2026-01-01T12:00:00+00:00"), at("2026-01-01T12:05:00+00:00")]
    exact = due_occurrences("*/5 * * * *", "UTC", at("2026-01-01T12:05:00+00:00"), catch_up=timedelta(minutes=4))
    assert exact == [at("2026-01-01T12:05:00+00:00")]


def test_nothing_is_due_outside_the_window() -> None:
    assert due_occurrences("0 9 * * *", "UTC", at("2026-01-01T09:10:01+00:00")) == []
    assert due_occurrences("0 9 * * *", "UTC", at("2026-01-01T08:59:59+00:00")) == []


def test_wall_clock_times_follow_the_tenant_zone_across_daylight_saving() -> None:
    # 09:00 in Chicago is 15:00 UTC in winter (CST) and 14:00 UTC after 2026-03-08 (CDT)
    winter = due_occurrences("0 9 * * *", "America/Chicago", at("2026-03-07T15:01:00+00:00"))
    summer = due_occurrences("0 9 * * *", "America/Chicago", at("2026-03-09T14:01:00+00:00"))
    assert [o.astimezone(UTC) for o in winter] == [at("2026-03-07T15:00:00+00:00")]
    assert [o.astimezone(UTC) for o in summer] == [at("2026-03-09T14:00:00+00:00")]
    assert summer[0].isoformat() == "2026-03-09T09:00:00-05:00"


def test_weekday_expressions_skip_the_weekend_in_local_time() -> None:
    # Saturday 2026-01-03 07:00 in Tokyo is Friday 22:00 UTC
    assert due_occurrences("0 7 * * 1-5", "Asia/Tokyo", at("2026-01-02T22:01:00+00:00")) == []
    monday = due_occurrences("0 7 * * 1-5", "Asia/Tokyo", at("2026-01-04T22:00:00+00:00"))
    assert [o.isoformat() for o in monday] == ["2026-01-05T07:00:00+09:00"]


def test_naive_now_and_bad_expressions_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_occurrences("* * * * *", "UTC", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="invalid cron"):
        validate_cron("61 * * * *")
