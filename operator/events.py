"""Kubernetes Events about our objects, posted in the background.

Events are for people (`kubectl describe`), so they must never slow a scheduling pass or fail
it: they go through a bounded queue and a worker. Like client-go's event spam filter, a token
bucket bounds how many are posted: under a burst of thousands of runs the API server's time goes
to the transitions themselves, and the status of each object still says what happened.
"""

import asyncio
import logging
import os
import socket
import time
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simplismart.crds import format_time, now
from simplismart.operator import metrics

logger = logging.getLogger(__name__)

COMPONENT = "simplismart-operator"
QUEUE_SIZE = 10_000
#: Events posted in a burst, and the steady rate after it (per second).
BURST = 100
RATE = 5.0


class EventRecorder:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        self._queue: asyncio.Queue[tuple[str, client.CoreV1Event]] = asyncio.Queue(QUEUE_SIZE)
        self._instance = os.environ.get("HOSTNAME") or socket.gethostname()
        self._tokens = float(BURST)
        self._refilled = time.monotonic()

    def _take_token(self) -> bool:
        clock = time.monotonic()
        self._tokens = min(BURST, self._tokens + (clock - self._refilled) * RATE)
        self._refilled = clock
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def announce(self, reference: dict[str, Any], reason: str, message: str) -> None:
        """Queue a Normal event about ``reference`` (apiVersion, kind, metadata)."""
        if not self._take_token():
            metrics.events_dropped.inc()
            return
        meta = reference["metadata"]
        stamp = format_time(now())
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{meta['name']}.", namespace=meta["namespace"]
            ),
            involved_object=client.V1ObjectReference(
                api_version=reference["apiVersion"],
                kind=reference["kind"],
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta["uid"],
            ),
            reason=reason,
            message=message,
            type="Normal",
            first_timestamp=stamp,
            last_timestamp=stamp,
            count=1,
            source=client.V1EventSource(component=COMPONENT, host=self._instance),
            reporting_component=COMPONENT,
            reporting_instance=self._instance,
        )
        try:
            self._queue.put_nowait((meta["namespace"], event))
        except asyncio.QueueFull:
            metrics.events_dropped.inc()
            logger.warning("event queue full; dropped %s event on %s", reason, meta["name"])

    async def run(self) -> None:
        while True:
            namespace, event = await self._queue.get()
            try:
                await asyncio.to_thread(self._core.create_namespaced_event, namespace, event)
            except ApiException as error:
                if error.status != 404:  # namespace gone: nobody to tell
                    logger.warning("could not post event: %s", error.reason)
