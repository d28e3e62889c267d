"""One kind's objects by namespace and name, ordered by resourceVersion.

Changes reach the store from three places: the LIST that seeds it, the watch, and the API's own
writes (applied at once, so that a caller reads what it just wrote). They can arrive out of
order, so every change carries the object's resourceVersion and an older one never replaces a
newer one. A deletion leaves a tombstone, so that a late event cannot bring the object back.

An entry keeps the object only as the JSON the API sends, plus the few fields lists filter on
(its *facets*): a decoded pydantic model per object took three times the memory of its JSON.
"""

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

log = logging.getLogger(__name__)

Facets = TypeVar("Facets")


@dataclass(frozen=True, slots=True)
class Entry(Generic[Facets]):
    """An object as the API shows it, with its JSON encoded once rather than per request."""

    namespace: str
    name: str
    version: int
    json: bytes
    facets: Facets


@dataclass(frozen=True, slots=True)
class Applied(Generic[Facets]):
    """What a change did: ``ADDED``, ``MODIFIED`` or ``DELETED``, and the entry concerned."""

    type: str
    entry: Entry[Facets]


def version_of(resource: dict[str, Any]) -> int:
    """resourceVersion as a number: opaque to clients, but etcd's revision, so it orders."""
    return int(resource["metadata"].get("resourceVersion") or 0)


Listener = Callable[[Applied[Facets]], None]
#: A Kubernetes object to its JSON as the API shows it and its facets; may raise
#: ``ValidationError``.
Render = Callable[[dict[str, Any]], tuple[bytes, Facets]]


class Store(Generic[Facets]):
    """Thread-safe: the watch thread and the API's own writes change it, requests read it.

    ``listener`` hears every change while the store's lock is held, so that it hears the
    changes of one object in the order the store made them, whichever thread made them.
    """

    def __init__(self, render: Render[Facets], listener: Listener[Facets]) -> None:
        self._render = render
        self._listener = listener
        self._lock = threading.Lock()
        self._by_namespace: dict[str, dict[str, Entry[Facets]]] = {}
        #: Names of each namespace in order, for pages that resume after a name.
        self._names: dict[str, list[str]] = {}
        #: (namespace, name) -> the version at which it was deleted.
        self._tombstones: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._by_namespace.values())

    def upsert(self, resource: dict[str, Any]) -> Applied[Facets] | None:
        """Store ``resource`` unless what is stored (or its deletion) is as new or newer."""
        metadata = resource["metadata"]
        namespace, name, version = metadata["namespace"], metadata["name"], version_of(resource)
        with self._lock:
            current = self._by_namespace.get(namespace, {}).get(name)
            if current is not None and current.version >= version:
                return None
            if self._tombstones.get((namespace, name), -1) >= version:
                return None
        try:
            json, facets = self._render(resource)
        except ValidationError as error:
            # One object this API cannot read (written by a newer operator or by hand) must not
            # stop the watch that keeps every other one current.
            log.warning("skipping unreadable %s/%s: %s", namespace, name, error)
            return None
        entry = Entry(namespace, name, version, json, facets)
        with self._lock:
            current = self._by_namespace.get(namespace, {}).get(name)
            if current is not None and current.version >= version:
                return None  # a newer one arrived while this one was converted
            self._tombstones.pop((namespace, name), None)
            entries = self._by_namespace.setdefault(namespace, {})
            entries[name] = entry
            if current is None:
                bisect.insort(self._names.setdefault(namespace, []), name)
            applied = Applied("ADDED" if current is None else "MODIFIED", entry)
            self._listener(applied)
        return applied

    def delete(self, resource: dict[str, Any]) -> Applied[Facets] | None:
        """Remove the object unless the stored one is newer than ``resource``."""
        metadata = resource["metadata"]
        namespace, name, version = metadata["namespace"], metadata["name"], version_of(resource)
        with self._lock:
            current = self._by_namespace.get(namespace, {}).get(name)
            if current is not None and current.version > version:
                return None
            self._tombstones[(namespace, name)] = max(
                version, self._tombstones.get((namespace, name), -1)
            )
            if current is None:
                return None
            self._remove(namespace, name)
            applied = Applied("DELETED", current)
            self._listener(applied)
        return applied

    def replace(self, resources: Iterable[dict[str, Any]], version: int) -> None:
        """Make the store what a LIST at ``version`` saw, keeping anything written after it."""
        listed: set[tuple[str, str]] = set()
        for resource in resources:
            listed.add((resource["metadata"]["namespace"], resource["metadata"]["name"]))
            self.upsert(resource)
        with self._lock:
            gone = [
                entry
                for entries in self._by_namespace.values()
                for entry in entries.values()
                if (entry.namespace, entry.name) not in listed and entry.version <= version
            ]
            for entry in gone:
                self._remove(entry.namespace, entry.name)
                self._listener(Applied("DELETED", entry))
            self._tombstones = {k: v for k, v in self._tombstones.items() if v > version}

    def _remove(self, namespace: str, name: str) -> None:
        """Lock held."""
        del self._by_namespace[namespace][name]
        names = self._names[namespace]
        del names[bisect.bisect_left(names, name)]

    def get(self, namespace: str, name: str) -> Entry[Facets] | None:
        with self._lock:
            return self._by_namespace.get(namespace, {}).get(name)

    def after(self, namespace: str, name: str | None) -> Iterator[Entry[Facets]]:
        """The namespace's entries in name order, starting after ``name``.

        A snapshot of the names is taken, so the iteration is safe while the watch writes;
        entries deleted meanwhile are skipped.
        """
        with self._lock:
            names = self._names.get(namespace, [])
            start = 0 if name is None else bisect.bisect_right(names, name)
            remaining = names[start:]
            entries = self._by_namespace.get(namespace, {})
        for each in remaining:
            entry = entries.get(each)
            if entry is not None:
                yield entry
