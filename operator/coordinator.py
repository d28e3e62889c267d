"""Runs scheduling passes one at a time per cluster, coalescing requests that arrive meanwhile.

A burst of a thousand new deployments must not become a thousand passes: a request made while a
pass runs only marks the cluster dirty, and one more pass runs after the current one. A failed
pass is retried with back-off, so a request is never dropped. While this replica does not lead,
the coordinator is closed and requests are ignored: the new leader's first act is a pass over
every cluster. A cluster with nothing running and nothing scheduled has no slot, so deleted
clusters leave nothing behind.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from simplismart.operator.objects import ClusterRef
from simplismart.operator.outages import log_failure

logger = logging.getLogger(__name__)

#: A pass returns the delay after which it wants to run again, or None when it is done.
PassFunction = Callable[[ClusterRef], Awaitable[float | None]]

MAX_BACKOFF = 10.0


@dataclass
class _Slot:
    dirty: bool = False
    worker: asyncio.Task[None] | None = None
    failures: int = 0
    timer: asyncio.TimerHandle | None = None
    """The earliest delayed request; later ones are covered by it."""


class PassCoordinator:
    def __init__(self, run_pass: PassFunction) -> None:
        self._run_pass = run_pass
        self._slots: dict[ClusterRef, _Slot] = {}
        self._closed = True

    def open(self) -> None:
        """Start taking requests (this replica now leads)."""
        self._closed = False

    def request(self, ref: ClusterRef, delay: float = 0.0) -> None:
        """Ask for a pass over ``ref``, now or after ``delay`` seconds."""
        if self._closed:
            return
        slot = self._slots.setdefault(ref, _Slot())
        if delay > 0:
            loop = asyncio.get_running_loop()
            if slot.timer is None or slot.timer.when() > loop.time() + delay:
                if slot.timer:
                    slot.timer.cancel()
                slot.timer = loop.call_later(delay, self._fire, ref, slot)
            return
        slot.dirty = True
        if slot.worker is None or slot.worker.done():
            slot.worker = asyncio.create_task(self._drain(ref, slot), name=f"pass {ref}")

    def _fire(self, ref: ClusterRef, slot: _Slot) -> None:
        slot.timer = None
        self.request(ref)

    def _release(self, ref: ClusterRef, slot: _Slot) -> None:
        if not slot.dirty and slot.timer is None and self._slots.get(ref) is slot:
            del self._slots[ref]

    async def _drain(self, ref: ClusterRef, slot: _Slot) -> None:
        while slot.dirty and not self._closed:
            slot.dirty = False
            try:
                follow_up = await self._run_pass(ref)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                slot.failures += 1
                follow_up = min(0.5 * 2**slot.failures, MAX_BACKOFF)
                message = "scheduling pass of %s failed (retrying in %.1fs)"
                log_failure(logger, error, message, ref, follow_up)
            else:
                slot.failures = 0
            if follow_up is not None:
                self.request(ref, follow_up)
        self._release(ref, slot)

    def active(self) -> list[ClusterRef]:
        """The clusters with a pass running or scheduled."""
        return list(self._slots)

    async def idle(self) -> None:
        """Wait until no pass is running."""
        while workers := [
            s.worker for s in self._slots.values() if s.worker and not s.worker.done()
        ]:
            await asyncio.wait(workers)

    async def close(self) -> None:
        """Stop: cancel every pass and timer (leadership lost, or shutting down)."""
        self._closed = True
        slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            if slot.timer:
                slot.timer.cancel()
            if slot.worker:
                slot.worker.cancel()
        await asyncio.gather(*(s.worker for s in slots if s.worker), return_exceptions=True)
