"""Leader election with a Kubernetes Lease, as client-go's leaderelection does it.

Every replica watches and keeps its store warm; only the holder of the Lease runs scheduling
passes, so a cluster has one writer by construction and a follower takes over within one lease
duration. The rules, from client-go:

- A Lease is free when it has no holder or when its record has not changed for a whole
  ``leaseDurationSeconds`` *as observed by this replica's own monotonic clock* (never by
  comparing another host's timestamps with ours, so clock skew cannot elect two leaders).
- Acquiring and renewing are updates with the resourceVersion read, so two candidates cannot
  both win the same record.
- The leader renews every ``retry`` seconds and gives up leadership, stopping every pass,
  ``renew_deadline`` seconds after it sent its last successful renewal, which is shorter than
  the lease duration: it stops before anyone else may start.

kopf's own peering pauses *every* operator when two of the same priority meet, and a paused
operator resumes only when the other's record expires; a replica killed without clean-up (a
SIGKILL, an OOM kill) stalls its successor for a minute. A Lease has none of that.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simplismart.operator import metrics
from simplismart.operator.outages import NO_ANSWER, REQUEST_TIMEOUT, describe

logger = logging.getLogger(__name__)

#: What an attempt that could not reach the API server raises (refused, reset, timed out, or an
#: error answer): the attempt failed, and the replica tries again; it must never end the loop,
#: or a replica outlives an API server restart without ever scheduling again.
UNREACHABLE = (*NO_ANSWER, ApiException)


class Leadership:
    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str,
        name: str,
        identity: str,
        lease_seconds: float = 15.0,
    ) -> None:
        self._api = client.CoordinationV1Api(api_client)
        self._namespace, self._name, self._identity = namespace, name, identity
        # The Lease records whole seconds, and every timing here derives from what it says:
        # a leader timing itself by 3.5 s while the others read 3 would outlive its Lease.
        self._lease_seconds = max(int(lease_seconds), 1)
        # client-go's proportions: 15 s lease, 10 s renew deadline, 2 s between attempts.
        self._renew_deadline = self._lease_seconds * 2 / 3
        self._retry = self._lease_seconds / 7.5
        # The record last seen and when (monotonic), to time other holders out by our clock.
        self._observed: tuple[str, float] | None = None

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Acquire the Lease, run ``lead`` while it is held, and start over when it is lost.

        If ``lead`` ends while the Lease is held, so does this, with its error: a replica that
        kept renewing without doing the work would keep every other one from taking it over.
        """
        while True:
            acquired = await self._acquire()
            logger.info("leading as %s (Lease %s/%s)", self._identity, self._namespace, self._name)
            metrics.leader.set(1)
            leading = asyncio.create_task(lead(), name="leading")
            keeping = asyncio.create_task(self._keep(acquired), name="keeping the Lease")
            try:
                await asyncio.wait({leading, keeping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ended, lost = leading.done(), keeping.done()
                for task in (leading, keeping):
                    task.cancel()
                await asyncio.gather(leading, keeping, return_exceptions=True)
                metrics.leader.set(0)
            if ended:
                leading.result()  # its error, if it had one
                raise RuntimeError("the scheduling loop ended while leading")
            if lost:
                keeping.result()  # renewal's own error, if it failed other than by an outage
            logger.warning("lost the Lease %s/%s; stopped scheduling", self._namespace, self._name)

    async def release(self) -> None:
        """On a clean shutdown: hand the Lease over at once instead of after its duration."""
        lease = await self._read()
        if lease is not None and lease.spec and lease.spec.holder_identity == self._identity:
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            await self._replace(lease)

    async def _acquire(self) -> float:
        """Take the Lease; returns when (monotonic) the attempt that took it was sent."""
        while True:
            sent = time.monotonic()
            try:
                # Answered after the renew deadline, it would be lost again at once.
                if await asyncio.wait_for(self._try(acquiring=True), self._renew_deadline):
                    return sent
            except UNREACHABLE as error:
                logger.warning("could not take the Lease: %s", describe(error) or error)
            await asyncio.sleep(self._retry)

    async def _keep(self, renewed: float) -> None:
        """Renew until no renewal sent in the last ``renew_deadline`` seconds has succeeded;
        then return, by that deadline at the latest.

        Times count from when an attempt was sent, not answered: the API server may have
        recorded it at any moment in between, and the others time the Lease out from when they
        saw it change.
        """
        while (left := renewed + self._renew_deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(self._retry, left))
            sent = time.monotonic()
            left = renewed + self._renew_deadline - sent
            if left <= 0:
                return
            try:
                if await asyncio.wait_for(self._try(acquiring=False), min(self._retry, left)):
                    renewed = sent
            except UNREACHABLE as error:
                logger.warning("could not renew the Lease: %s", describe(error) or error)

    async def _try(self, acquiring: bool) -> bool:
        """One attempt to take or renew the Lease; True when we hold it afterwards."""
        try:
            lease = await self._read()
            stamp = datetime.now(UTC)
            if lease is None:
                await asyncio.to_thread(
                    self._api.create_namespaced_lease,
                    self._namespace,
                    self._body(stamp, 0),
                    _request_timeout=REQUEST_TIMEOUT,
                )
                return True
            assert lease.metadata is not None
            assert lease.spec is not None
            spec, version = lease.spec, str(lease.metadata.resource_version)
            if self._observed is None or self._observed[0] != version:
                self._observed = (version, time.monotonic())
            mine = spec.holder_identity == self._identity
            silent = time.monotonic() - self._observed[1]
            expired = silent > (spec.lease_duration_seconds or 0)
            if not (mine or not spec.holder_identity or expired):
                return False
            transitions = (spec.lease_transitions or 0) + (0 if mine else 1)
            body = self._body(spec.acquire_time if mine else stamp, transitions)
            body.metadata = lease.metadata  # its resourceVersion makes the update conditional
            assert body.spec is not None
            body.spec.renew_time = stamp
            await self._replace(body)
            return True
        except ApiException as error:
            if error.status in (404, 409):  # raced with another candidate: try again later
                return False
            if acquiring:
                logger.warning("could not take the Lease: %s", error.reason)
                return False
            raise

    def _body(self, acquired: datetime | None, transitions: int) -> client.V1Lease:
        stamp = acquired or datetime.now(UTC)
        return client.V1Lease(
            metadata=client.V1ObjectMeta(name=self._name, namespace=self._namespace),
            spec=client.V1LeaseSpec(
                holder_identity=self._identity,
                lease_duration_seconds=self._lease_seconds,
                acquire_time=stamp,
                renew_time=stamp,
                lease_transitions=transitions,
            ),
        )

    async def _read(self) -> client.V1Lease | None:
        try:
            return await asyncio.to_thread(
                self._api.read_namespaced_lease,
                self._name,
                self._namespace,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    async def _replace(self, lease: client.V1Lease) -> None:
        await asyncio.to_thread(
            self._api.replace_namespaced_lease,
            self._name,
            self._namespace,
            lease,
            _request_timeout=REQUEST_TIMEOUT,
        )
