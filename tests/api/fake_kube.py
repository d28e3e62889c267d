"""An in-memory stand-in for the Kubernetes API, for the unit tier.

It keeps the behaviour the routes rely on (namespaces, names unique per kind and namespace,
404/409, a uid and creation time, status written separately) and answers with the same errors
as :class:`simplismart.api.kube.KubernetesApi`; the integration tier runs the same tests
against the real API server.
"""

import copy
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from simplismart.api.errors import ConflictError, NotFoundError, UnavailableError, field_error
from simplismart.api.kube import (
    ORGANIZATION_LABEL,
    Listing,
    Namespace,
    ResourceVersionGoneError,
    WatchEvent,
    describe,
)
from simplismart.crds import ResourceKind, format_time, now


@dataclass
class FakeNamespace:
    labels: dict[str, str]
    claim: str | None
    uid: str
    terminating: bool = False


class FakeKube:
    def __init__(self) -> None:
        self.namespaces: dict[str, FakeNamespace] = {}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.reachable = True
        #: Set to lose the answer to a namespace's creation, as a timeout would: it is made.
        self.lose_answers = False
        #: Cleared to leave deleted namespaces Terminating until `finalize`.
        self.finalize_namespaces = True
        #: Set to make ping fail with this message, as a misconfigured client would.
        self.fail_ping_with: str | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: Every change as a watch would deliver it: (resourceVersion, plural, event).
        self._history: list[tuple[int, str, WatchEvent]] = []
        self._version = 0
        #: Watches from a version older than this get 410 Gone, as after etcd compaction.
        self._compacted = 0

    def _record(self, plural: str, kind: str, stored: dict[str, Any]) -> None:
        """Give ``stored`` the next resourceVersion and tell the watches (lock held)."""
        self._version += 1
        stored["metadata"]["resourceVersion"] = str(self._version)
        self._history.append((self._version, plural, WatchEvent(kind, copy.deepcopy(stored))))
        self._changed.notify_all()

    def compact(self) -> None:
        """Forget the history, so that a watch resuming from before now is told 410 Gone."""
        with self._lock:
            self._version += 1
            self._compacted = self._version
            self._history.clear()
            self._changed.notify_all()

    def vanish(self, kind: ResourceKind, namespace: str, name: str) -> None:
        """Remove an object without telling the watches: only a new LIST can notice."""
        with self._lock:
            del self.objects[(kind.plural, namespace, name)]

    def _up(self) -> None:
        if not self.reachable:
            raise UnavailableError("the Kubernetes API is unreachable; try again later")

    def ping(self) -> None:
        self._up()
        if self.fail_ping_with is not None:
            raise UnavailableError(self.fail_ping_with)

    def create_namespace(self, name: str, organization_id: int, claim: str) -> None:
        self._up()
        with self._lock:
            if name in self.namespaces:
                raise ConflictError(f"namespace {name!r} already exists")
            self.namespaces[name] = FakeNamespace(
                {ORGANIZATION_LABEL: str(organization_id)}, claim, str(uuid.uuid4())
            )
        if self.lose_answers:
            raise UnavailableError("the Kubernetes API is unreachable; try again later")

    def read_namespace(self, name: str) -> Namespace | None:
        self._up()
        with self._lock:
            found = self.namespaces.get(name)
            if found is None:
                return None
            return Namespace(found.uid, found.claim, found.terminating)

    def delete_namespace(self, name: str, uid: str) -> None:
        self._up()
        with self._lock:
            found = self.namespaces.get(name)
            if found is None:
                raise NotFoundError(f"namespace {name!r} not found")
            if found.uid != uid:
                raise ConflictError(f"namespace {name!r}: the uid precondition failed")
            for key in [key for key in self.objects if key[1] == name]:
                self._record(key[0], "DELETED", self.objects.pop(key))
            if self.finalize_namespaces:
                del self.namespaces[name]
            else:
                found.terminating = True

    def finalize(self, name: str) -> None:
        """What the namespace controller does last: the name is free again."""
        with self._lock:
            del self.namespaces[name]

    def create_object(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        request_fields: Mapping[str, str],
    ) -> dict[str, Any]:
        self._up()
        with self._lock:
            if namespace not in self.namespaces:
                raise NotFoundError(f"namespace {namespace!r} not found")
            key = (kind.plural, namespace, name)
            if key in self.objects:
                raise ConflictError(
                    f"{describe(kind, name)} already exists",
                    [field_error(request_fields.get("metadata.name", "name"), "is taken")],
                )
            self.objects[key] = {
                "apiVersion": kind.api_version,
                "kind": kind.kind,
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": format_time(now()).replace(".000", ""),
                },
                "spec": copy.deepcopy(spec),
            }
            self._record(kind.plural, "ADDED", self.objects[key])
            return copy.deepcopy(self.objects[key])

    def count_objects(self, kind: ResourceKind, namespace: str) -> int:
        self._up()
        with self._lock:
            return sum(1 for key in self.objects if key[:2] == (kind.plural, namespace))

    def get_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        self._up()
        with self._lock:
            found = self.objects.get((kind.plural, namespace, name))
            if found is None:
                raise NotFoundError(f"{describe(kind, name)} not found")
            return copy.deepcopy(found)

    def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]:
        self._up()
        with self._lock:
            return [
                copy.deepcopy(value)
                for (plural, space, _name), value in sorted(self.objects.items())
                if plural == kind.plural and space == namespace
            ]

    def delete_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        current = self.get_object(kind, namespace, name)
        with self._lock:
            removed = self.objects.pop((kind.plural, namespace, name), None)
            if removed is not None:
                self._record(kind.plural, "DELETED", removed)
        return current

    def list_all(self, kind: ResourceKind) -> Listing:
        self._up()
        with self._lock:
            items = [
                copy.deepcopy(value)
                for (plural, _space, _name), value in sorted(self.objects.items())
                if plural == kind.plural
            ]
            return Listing(items, str(self._version))

    def watch(
        self, kind: ResourceKind, resource_version: str, timeout_seconds: int
    ) -> Iterator[WatchEvent]:
        self._up()
        seen = int(resource_version)
        # Ends early, as a real server may: a stopped cache's thread then ends within a second.
        deadline = time.monotonic() + min(timeout_seconds, 1)
        while True:
            with self._lock:
                if seen < self._compacted:
                    raise ResourceVersionGoneError(resource_version)
                news = [(v, e) for v, p, e in self._history if v > seen and p == kind.plural]
                if not news:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self._changed.wait(min(left, 0.5))
                    continue
            for version, event in news:
                seen = version
                yield event

    def set_status(
        self, kind: ResourceKind, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        """What the operator does through the status subresource."""
        with self._lock:
            stored = self.objects[(kind.plural, namespace, name)]
            stored["status"] = copy.deepcopy(status)
            self._record(kind.plural, "MODIFIED", stored)
