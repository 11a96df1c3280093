"""A worker's pool always has two connections per thread and one spare (a job may hold two at once)."""

from __future__ import annotations

import pytest

from workers.middleware import DatabasePool


@pytest.mark.parametrize(
    ("configured", "threads", "size"),
    [(5, 4, 9), (5, 1, 5), (20, 4, 20), (1, 8, 17)],
)
def test_the_pool_never_starves_the_second_connection(configured: int, threads: int, size: int) -> None:
    assert DatabasePool.size_for(configured, threads) == size
