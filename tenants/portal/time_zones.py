"""The time zone picker's choices: a short list of common zones, then every IANA zone."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

COMMON_ZONES: tuple[tuple[str, str], ...] = (
    ("America/New_York", "US Eastern (New York)"),
    ("America/Chicago", "US Central (Chicago)"),
    ("America/Denver", "US Mountain (Denver)"),
    ("America/Phoenix", "US Mountain without daylight saving (Phoenix)"),
    ("America/Los_Angeles", "US Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
    ("America/Toronto", "Canada Eastern (Toronto)"),
    ("America/Vancouver", "Canada Pacific (Vancouver)"),
    ("Europe/London", "United Kingdom (London)"),
    ("Europe/Berlin", "Central Europe (Berlin)"),
    ("UTC", "Coordinated Universal Time (UTC)"),
)
_SKIPPED_PREFIXES = ("Etc/", "SystemV/", "posix/", "right/")


@cache
def _all_zones() -> tuple[str, ...]:
    common = {zone for zone, _ in COMMON_ZONES}
    return tuple(
        sorted(
            zone
            for zone in available_timezones()
            if "/" in zone and not zone.startswith(_SKIPPED_PREFIXES) and zone not in common
        )
    )


def zone_choices(current: str = "") -> dict[str, list[tuple[str, str]]]:
    """``{"common": [(zone, label)], "all": [(zone, zone)]}``; ``current`` is listed even if unusual."""
    others = list(_all_zones())
    known = {zone for zone, _ in COMMON_ZONES} | set(others)
    if current and current not in known:
        others = sorted([*others, current])
    return {"common": list(COMMON_ZONES), "all": [(zone, zone.replace("_", " ")) for zone in others]}
