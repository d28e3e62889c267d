"""Kubernetes Events about our objects, posted in the background.

Events are for people (`kubectl describe`), so they must never slow a scheduling pass or fail
it: they go through a bounded queue and a worker. Like client-go's event spam filter, each object
has its own token bucket (a burst of 25, then one per five minutes), kept for the most recently
seen 4,096 objects: one object in a loop cannot flood the API server, and a noisy cluster cannot
silence the others. The status of each object says what happened whatever was dropped.
"""

import asyncio
import logging
import os
import socket
import time
from collections import OrderedDict
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simplismart.crds import format_time, now
from simplismart.operator import metrics

logger = logging.getLogger(__name__)

COMPONENT = "simplismart-operator"
QUEUE_SIZE = 10_000
#: Per object: events posted in a burst, and the steady rate after it (client-go's values).
BURST = 25
RATE = 1 / 300
#: Objects whose buckets are remembered (client-go's LRU size).
TRACKED = 4096


class EventRecorder:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        self._queue: asyncio.Queue[tuple[str, client.CoreV1Event]] = asyncio.Queue(QUEUE_SIZE)
        self._instance = os.environ.get("HOSTNAME") or socket.gethostname()
        # uid -> (tokens, when last refilled), least recently used first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _take_token(self, uid: str) -> bool:
        clock = time.monotonic()
        tokens, refilled = self._buckets.pop(uid, (float(BURST), clock))
        tokens = min(BURST, tokens + (clock - refilled) * RATE)
        allowed = tokens >= 1
        self._buckets[uid] = (tokens - 1 if allowed else tokens, clock)
        if len(self._buckets) > TRACKED:
            self._buckets.popitem(last=False)
        return allowed

    def announce(
        self, reference: dict[str, Any], reason: str, message: str, *, warning: bool = False
    ) -> None:
        """Queue an event about ``reference`` (apiVersion, kind, metadata): Normal, or Warning
        for what a person may have to act on."""
        meta = reference["metadata"]
        if not self._take_token(meta["uid"]):
            metrics.events_dropped.inc()
            return
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
            type="Warning" if warning else "Normal",
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
