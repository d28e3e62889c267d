"""The Cluster's status, written beside the passes rather than inside them.

A pass says what its cluster's status should be and goes on; a writer per cluster writes the
newest report it was handed, one write at a time, so an older report never lands after a newer
one. The next pass, and the start a run's expiry made room for, then never wait for a round trip
that starts nothing. A failed write is retried after a pause unless a newer report replaced it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from simplismart.operator.objects import ClusterRef

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0

#: Writes a Cluster's status (``KubeApi.patch_cluster_status``).
StatusWriter = Callable[[ClusterRef, dict[str, Any]], Awaitable[None]]


class ClusterReports:
    def __init__(self, write: StatusWriter) -> None:
        self._write_status = write
        self._written: dict[ClusterRef, dict[str, Any]] = {}
        self._newest: dict[ClusterRef, dict[str, Any]] = {}
        self._writers: dict[ClusterRef, asyncio.Task[None]] = {}

    def submit(self, ref: ClusterRef, status: dict[str, Any]) -> None:
        """Have ``status`` written, unless it is what was written last."""
        if ref not in self._newest and self._written.get(ref) == status:
            return
        self._newest[ref] = status
        if ref not in self._writers:
            self._writers[ref] = asyncio.create_task(self._write(ref), name=f"report {ref}")

    async def _write(self, ref: ClusterRef) -> None:
        try:
            while (status := self._newest.pop(ref, None)) is not None:
                try:
                    await self._write_status(ref, status)
                except Exception:
                    logger.exception("could not write the status of %s; retrying", ref)
                    self._newest.setdefault(ref, status)
                    await asyncio.sleep(RETRY_SECONDS)
                else:
                    self._written[ref] = status
        finally:
            if self._writers.get(ref) is asyncio.current_task():
                del self._writers[ref]

    def forget(self, ref: ClusterRef) -> None:
        """A deleted cluster: nothing more to write about it."""
        self._written.pop(ref, None)
        self._newest.pop(ref, None)
        writer = self._writers.pop(ref, None)
        if writer is not None:
            writer.cancel()

    async def flush(self) -> None:
        """Return once every report handed over is written."""
        while self._writers:
            await asyncio.gather(*self._writers.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop writing (leadership lost, or shutting down); what is not written is dropped."""
        writers = list(self._writers.values())
        self._newest.clear()
        self._written.clear()
        for writer in writers:
            writer.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
