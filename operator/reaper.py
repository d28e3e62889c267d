"""Deletes finished deployments once their ttlSecondsAfterFinished has passed.

Like Kubernetes' TTL-after-finished controller for Jobs, but timed, not scanned: when a run
ends, the pass writes ``status.retainedUntil``; every watch event of a finished deployment
(including the initial listing after a restart, so no pending deletion is lost) schedules its
deletion for that moment, and one task sleeps until the earliest is due. A deletion names the
object's uid, so a namesake created since is left alone.
"""

import asyncio
import heapq
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from simplismart.operator import metrics
from simplismart.operator.kube import KubeApi
from simplismart.operator.outages import log_failure

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, order=True)
class _Due:
    at: datetime
    namespace: str
    name: str
    uid: str


class Reaper:
    def __init__(self, kube: KubeApi, clock: Callable[[], datetime]) -> None:
        self._kube = kube
        self._clock = clock
        self._heap: list[_Due] = []
        self._scheduled: set[str] = set()
        self._changed = asyncio.Event()

    def schedule(self, namespace: str, name: str, uid: str, at: datetime) -> None:
        """Delete that deployment at ``at`` (once, however many events announce it)."""
        if uid in self._scheduled:
            return
        self._scheduled.add(uid)
        heapq.heappush(self._heap, _Due(at, namespace, name, uid))
        self._changed.set()

    def forget(self, uid: str) -> None:
        """That deployment is gone (deleted by the leader, or by someone else): no deletion.

        Every replica schedules from the watch, and only the leader's reaper runs, so a
        standby would otherwise keep every finished deployment ever seen, and send a DELETE
        for each (404) once it leads. Forgotten entries leave the heap when they are popped,
        or when they outnumber the live ones.
        """
        self._scheduled.discard(uid)
        if len(self._heap) > 2 * len(self._scheduled) + 64:
            self._heap = [due for due in self._heap if due.uid in self._scheduled]
            heapq.heapify(self._heap)

    def __len__(self) -> int:
        """The deletions still to make."""
        return len(self._scheduled)

    async def run(self) -> None:
        """Delete what is due, then sleep until the next deletion or a new, earlier one."""
        while True:
            while self._heap and self._heap[0].at <= self._clock():
                due = heapq.heappop(self._heap)
                if due.uid not in self._scheduled:
                    continue  # forgotten: deleted meanwhile
                self._scheduled.discard(due.uid)
                try:
                    if await self._kube.delete_deployment(due.namespace, due.name, due.uid):
                        metrics.deletions.inc()
                except Exception as error:
                    log_failure(
                        logger, error, "could not delete %s/%s (retrying)", due.namespace, due.name
                    )
                    self.schedule(due.namespace, due.name, due.uid, self._clock())
                    await asyncio.sleep(1)
            self._changed.clear()
            delay = (self._heap[0].at - self._clock()).total_seconds() if self._heap else None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)
