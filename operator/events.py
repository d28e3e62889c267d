"""Kubernetes Events about our objects, posted in the background.

They are posted to the events.k8s.io/v1 API (client-go's newer recorder's; the same objects
`kubectl describe` and `kubectl get events` show) as plain JSON through the client's generic
custom-objects calls: its core v1 module (every core resource's methods, each wrapped in a
validator) costs some 70 MiB of memory to load, and its typed Event would write a time with no
microseconds in a form the API server refuses.

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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simplismart.crds import now
from simplismart.operator import metrics
from simplismart.operator.outages import NO_ANSWER, REQUEST_TIMEOUT, describe

logger = logging.getLogger(__name__)

COMPONENT = "simplismart-operator"
#: What the operator did about the object: every event here reports a scheduling decision.
ACTION = "Schedule"
#: Characters of the object's name an event's name keeps: with a dot and 16 hex digits of time,
#: the 253 a name may have.
NAME_PREFIX = 236
#: The API server refuses a note longer than this (bytes).
NOTE_LIMIT = 1024
QUEUE_SIZE = 10_000
#: Per object: events posted in a burst, and the steady rate after it (client-go's values).
BURST = 25
RATE = 1 / 300
#: Objects whose buckets are remembered (client-go's LRU size).
TRACKED = 4096


class EventRecorder:
    def __init__(self, api_client: client.ApiClient, clock: Callable[[], datetime] = now) -> None:
        self._clock = clock
        self._api = client.CustomObjectsApi(api_client)
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_SIZE)
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
        event = {
            # client-go's naming: the object's name and the time, a valid name for the API.
            "metadata": {
                "name": f"{meta['name'][:NAME_PREFIX]}.{time.time_ns():x}",
                "namespace": meta["namespace"],
            },
            "regarding": {
                "apiVersion": reference["apiVersion"],
                "kind": reference["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "note": _truncated(message),
            "type": "Warning" if warning else "Normal",
            "action": ACTION,
            "eventTime": self._clock().astimezone(UTC).isoformat(timespec="microseconds"),
            "reportingController": COMPONENT,
            "reportingInstance": self._instance,
        }
        try:
            self._queue.put_nowait((meta["namespace"], event))
        except asyncio.QueueFull:
            metrics.events_dropped.inc()
            logger.warning("event queue full; dropped %s event on %s", reason, meta["name"])

    async def run(self) -> None:
        """Post what is queued, one at a time, for as long as the operator runs.

        While the API server cannot be reached, each event is dropped in turn: the failure is
        logged once, with how many were lost when posting works again.
        """
        lost = 0
        while True:
            namespace, event = await self._queue.get()
            try:
                await asyncio.to_thread(
                    self._api.create_namespaced_custom_object,
                    "events.k8s.io", "v1", namespace, "events", event,
                    _request_timeout=REQUEST_TIMEOUT,
                )  # fmt: skip
            except ApiException as error:
                # A namespace gone or being deleted (403 NamespaceTerminating): nobody to tell.
                if error.status != 404 and "NamespaceTerminating" not in str(error.body):
                    target = event["regarding"]["name"]
                    logger.warning(
                        "could not post event on %s/%s: %s", namespace, target, error.reason
                    )
            except NO_ANSWER as error:
                if not lost:
                    logger.warning("cannot post events: %s", describe(error) or error)
                lost += 1
                metrics.events_dropped.inc()
            else:
                if lost:
                    logger.info("posting events again; %d dropped meanwhile", lost)
                lost = 0


def _truncated(message: str) -> str:
    """The message cut to what the API server accepts, marked as cut."""
    encoded = message.encode()
    if len(encoded) <= NOTE_LIMIT:
        return message
    return encoded[: NOTE_LIMIT - 3].decode(errors="ignore") + "..."
