"""Watches every Deployment and Cluster status while a test runs and records invariant breaches.

The invariants (DESIGN.md): no instant of over-commit on any cluster, no deployment started
twice, no run ended twice, no run left Running well past its expiresAt. A watch delivers the
events of one resource in the API server's revision order, so each event shows a state that
really existed; and it shows every state, however briefly it lasted, which a test polling with
GETs can miss under load (a 1 s run's Running), so tests read short-lived states from here.
"""

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from harness.kube import wait_for
from simplismart.crds import CLUSTER, DEPLOYMENT, ResourceKind, parse_time

RESOURCES = ("cpu", "ram", "gpu")


class InvariantMonitor:
    def __init__(self, api: client.ApiClient, namespace: str, overdue_grace: float = 6.0) -> None:
        self._custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.overdue_grace = overdue_grace
        self.violations: list[str] = []
        self.deployments: dict[str, dict[str, Any]] = {}
        self.capacity: dict[str, dict[str, int]] = {}
        self.starts: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()
        self._first_seen: dict[tuple[str, str], dict[str, Any]] = {}
        self._overdue: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(kind,), daemon=True)
            for kind in (CLUSTER, DEPLOYMENT)
        ]
        self._threads.append(threading.Thread(target=self._check_overdue, daemon=True))

    def __enter__(self) -> "InvariantMonitor":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _watch(self, kind: ResourceKind) -> None:
        """Follow one kind from one resourceVersion to the next, so no event is skipped."""
        version: str | None = None
        while not self._stop.is_set():
            options: dict[str, Any] = {"timeout_seconds": 2}
            if version:
                options["resource_version"] = version
            stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                self._custom.list_namespaced_custom_object,
                kind.group, kind.version, self.namespace, kind.plural, **options,
            )  # fmt: skip
            try:
                for event in stream:
                    version = event["object"]["metadata"]["resourceVersion"]
                    with self._lock:
                        if kind is CLUSTER:
                            self._on_cluster(event["type"], event["object"])
                        else:
                            self._on_deployment(event["type"], event["object"])
            except ApiException as error:
                if error.status == 410:
                    version = None  # too old: start again from a fresh list
                elif error.status == 429 or (error.status or 0) >= 500:
                    time.sleep(0.5)  # an API server starting up: go on where we were
                else:
                    raise
            except (HTTPError, OSError):
                time.sleep(0.5)  # an API server away (a test restarting it): go on where we were

    def _on_cluster(self, kind: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        if kind == "DELETED":
            self.capacity.pop(name, None)
        else:
            self.capacity[name] = body["spec"]["resources"]

    def _on_deployment(self, kind: str, body: dict[str, Any]) -> None:
        uid = body["metadata"]["uid"]
        if kind == "DELETED":
            self.deployments.pop(uid, None)
            return
        before = (self.deployments.get(uid, {}).get("status") or {}).get("phase")
        self.deployments[uid] = body
        phase = (body.get("status") or {}).get("phase")
        name = body["metadata"]["name"]
        if phase is not None:
            self._first_seen.setdefault((name, phase), body)
        if phase == "Running" and before != "Running":
            self.starts[uid] += 1
            # A preempted run goes back to the queue and starts again, once per preemption.
            if self.starts[uid] > 1 + ((body.get("status") or {}).get("preemptions") or 0):
                self.violations.append(f"{name} started twice")
        if phase == "Succeeded" and before != "Succeeded":
            self.ends[uid] += 1
            if self.ends[uid] > 1:
                self.violations.append(f"{name} ended twice")
        if before == "Succeeded" and phase != "Succeeded":
            self.violations.append(f"{name} left Succeeded for {phase}")
        self._check_capacity(body["spec"]["cluster"])

    def _check_capacity(self, cluster: str) -> None:
        capacity = self.capacity.get(cluster)
        if capacity is None:
            return
        running = [
            (d.get("status") or {}).get("allocated") or d["spec"]["resources"]
            for d in self.deployments.values()
            if d["spec"]["cluster"] == cluster and (d.get("status") or {}).get("phase") == "Running"
        ]
        for resource in RESOURCES:
            used = sum(r[resource] for r in running)
            if used > capacity[resource]:
                self.violations.append(
                    f"cluster {cluster} over-committed: {resource} {used} > {capacity[resource]}"
                )

    def _check_overdue(self) -> None:
        while not self._stop.wait(0.5):
            now = datetime.now(UTC)
            with self._lock:
                for body in self.deployments.values():
                    status = body.get("status") or {}
                    if status.get("phase") != "Running" or "expiresAt" not in status:
                        continue
                    late = (now - parse_time(status["expiresAt"])).total_seconds()
                    uid = body["metadata"]["uid"]
                    if late > self.overdue_grace and uid not in self._overdue:
                        self._overdue.add(uid)
                        name = body["metadata"]["name"]
                        self.violations.append(f"{name} still Running {late:.1f}s past expiry")

    def in_phases(self, phases: set[str]) -> list[dict[str, Any]]:
        """The deployments in one of ``phases`` now, as last seen."""
        with self._lock:
            return [
                d for d in self.deployments.values()
                if (d.get("status") or {}).get("phase") in phases
            ]  # fmt: skip

    def wait_all(self, phases: set[str], count: int, timeout: float) -> None:
        """Wait until ``count`` deployments are all in ``phases``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.in_phases(phases)) >= count:
                return
            time.sleep(0.2)
        with self._lock:
            seen = Counter((d.get("status") or {}).get("phase") for d in self.deployments.values())
        raise AssertionError(f"timed out: {count} in {phases} wanted, phases now {dict(seen)}")

    def seen(self, name: str, phase: str, timeout: float = 30.0) -> dict[str, Any]:
        """The deployment ``name`` as the watch first showed it in ``phase``, however briefly it
        stayed there (the first object of that name; a watch too far behind to go on from its
        revision starts again from a list, and the states between are lost: tests here are far
        from that)."""

        def first() -> dict[str, Any] | None:
            with self._lock:
                return self._first_seen.get((name, phase))

        return wait_for(first, timeout, what=f"deployment {name} to be seen {phase}")

    def assert_clean(self) -> None:
        assert not self.violations, self.violations
