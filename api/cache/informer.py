"""Keep one kind's store current: LIST, then WATCH from the list's resourceVersion.

A watch the server ends is resumed from the last version seen (bookmarks keep that recent);
a version the server has compacted away (410 Gone) means LIST again; any other failure is
retried with back-off, LISTing again, so that nothing missed while disconnected stays missed.
"""

import logging
import threading
from typing import Any

from simplismart.api.cache.store import Facets, Store
from simplismart.api.errors import ApiError
from simplismart.api.kube import Kube, ResourceVersionGoneError
from simplismart.crds import ResourceKind

log = logging.getLogger(__name__)

#: How long one watch request lasts before it is renewed from the last version.
WATCH_SECONDS = 60
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0


class Informer:
    def __init__(
        self, kube: Kube, kind: ResourceKind, store: Store[Facets], namespace_prefix: str
    ) -> None:
        self._kube = kube
        self._kind = kind
        self._store = store
        self._prefix = namespace_prefix
        self.synced = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch-{kind.plural}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it does when its current watch request returns."""
        self._stopping.set()

    def _ours(self, resource: dict[str, Any]) -> bool:
        """Only organizations' namespaces: other installations or users may share the cluster."""
        namespace: str = resource["metadata"].get("namespace", "")
        return namespace.startswith(self._prefix)

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stopping.is_set():
            try:
                version = self._list()
                backoff = FIRST_BACKOFF_SECONDS
                while not self._stopping.is_set():
                    version = self._watch(version)
            except ResourceVersionGoneError:
                log.info("the %s watch is too old (410 Gone); listing again", self._kind.plural)
            except Exception as error:
                if self._stopping.is_set():
                    return  # the API is shutting down: whatever broke no longer matters
                if isinstance(error, ApiError):
                    log.warning("the %s watch failed: %s", self._kind.plural, error.message)
                else:
                    log.exception("the %s watch failed unexpectedly", self._kind.plural)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _list(self) -> str:
        listing = self._kube.list_all(self._kind)
        mine = [item for item in listing.items if self._ours(item)]
        self._store.replace(mine, int(listing.resource_version))
        self.synced.set()
        return listing.resource_version

    def _watch(self, version: str) -> str:
        """One watch request; the version to resume from when the server ends it."""
        for event in self._kube.watch(self._kind, version, WATCH_SECONDS):
            version = event.object["metadata"].get("resourceVersion") or version
            if event.type == "BOOKMARK" or not self._ours(event.object):
                continue
            if event.type == "DELETED":
                self._store.delete(event.object)
            else:
                self._store.upsert(event.object)
            if self._stopping.is_set():
                break
        return version
