"""Cluster status reports: the newest wins, none lands after a newer one, failures are retried."""

import asyncio
from typing import Any

import pytest

from simplismart.operator import reports
from simplismart.operator.objects import ClusterRef
from simplismart.operator.reports import ClusterReports

pytestmark = pytest.mark.unit

POOL = ClusterRef("ns", "pool")


class SlowWriter:
    """Records each write; the first one waits until released, as a slow API server would."""

    def __init__(self, failures: int = 0) -> None:
        self.written: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.failures = failures

    async def __call__(self, ref: ClusterRef, status: dict[str, Any]) -> None:
        await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the API server is down")
        self.written.append(status)


def test_reports_made_during_a_write_collapse_into_the_newest() -> None:
    async def scenario() -> list[dict[str, Any]]:
        writer = SlowWriter()
        reports = ClusterReports(writer)
        reports.submit(POOL, {"running": 1})
        await asyncio.sleep(0)  # the first write is now in flight
        reports.submit(POOL, {"running": 2})
        reports.submit(POOL, {"running": 3})
        writer.release.set()
        await reports.flush()
        reports.submit(POOL, {"running": 3})  # what was written last: nothing to do
        await reports.flush()
        return writer.written

    assert asyncio.run(scenario()) == [{"running": 1}, {"running": 3}]


def test_a_failed_write_is_retried_unless_a_newer_report_replaced_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reports, "RETRY_SECONDS", 0.0)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        retried, replaced = SlowWriter(failures=1), SlowWriter(failures=1)
        for writer in (retried, replaced):
            writer.release.set()
        first, second = ClusterReports(retried), ClusterReports(replaced)
        first.submit(POOL, {"running": 1})
        second.submit(POOL, {"running": 1})
        await asyncio.sleep(0)
        second.submit(POOL, {"running": 2})  # arrives while the failing write is in flight
        await asyncio.gather(first.flush(), second.flush())
        return retried.written, replaced.written

    retried, replaced = asyncio.run(scenario())
    assert retried == [{"running": 1}]
    assert replaced == [{"running": 2}]


def test_a_forgotten_or_closed_cluster_is_written_no_more() -> None:
    async def scenario() -> list[dict[str, Any]]:
        writer = SlowWriter()
        reports = ClusterReports(writer)
        reports.submit(POOL, {"running": 1})
        reports.submit(ClusterRef("ns", "other"), {"running": 5})
        await asyncio.sleep(0)
        reports.forget(POOL)
        await reports.close()
        writer.release.set()
        await asyncio.sleep(0)
        return writer.written

    assert asyncio.run(scenario()) == []
