"""The reaper's schedule: a deployment deleted by someone else is not deleted again."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from simplismart.operator.kube import KubeApi
from simplismart.operator.reaper import Reaper

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class DeletionLog:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete_deployment(self, namespace: str, name: str, uid: str) -> bool:
        self.deleted.append(name)
        return True


def test_a_deployment_deleted_meanwhile_is_forgotten_and_not_deleted_again() -> None:
    """A standby schedules every finished deployment it sees; the leader deletes them. Never
    forgotten, the standby's schedule grew for ever and, once leading, sent one DELETE for
    each (a 404) ahead of the deletions actually due."""
    kube = DeletionLog()
    reaper = Reaper(cast(KubeApi, kube), lambda: T0)
    for n in range(1000):
        reaper.schedule("ns", f"gone{n}", f"gone{n}-uid", T0 - timedelta(seconds=1))
    reaper.schedule("ns", "due", "due-uid", T0)
    for n in range(1000):
        reaper.forget(f"gone{n}-uid")  # the leader's deletions, seen through the watch
    assert len(reaper) == 1

    async def lead_briefly() -> None:
        running = asyncio.create_task(reaper.run())
        await asyncio.sleep(0.05)
        running.cancel()

    asyncio.run(lead_briefly())
    assert kube.deleted == ["due"]
    assert len(reaper._heap) == 0, "the forgotten entries' memory is given back"
