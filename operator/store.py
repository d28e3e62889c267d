"""The operator's view of every Deployment, kept current by the watch and by its own writes.

A scheduling pass must see what it and earlier passes wrote even before the watch shows it,
and reading every deployment of a cluster from the API server on every pass costs more than the
pass itself once queues are long. So the watch feeds this store (as client-go's informers do),
each successful status write feeds it the object the API server returned, and a pass reads it.

Versions only move forward: an event older than what the store holds (a watch lagging behind
our own write) is ignored. resourceVersions are etcd revisions, compared as integers; Kubernetes
calls them opaque, so a value that is not an integer is simply accepted.

A cluster's members are trusted only after a LIST in this process has seeded them
(``needs_list``), and again LISTed on every resync, so a missed event cannot persist.
"""

from collections.abc import Mapping
from typing import Any

from simplismart.operator.objects import ClusterRef, DeploymentObject


def _newer(candidate: str, held: str) -> bool:
    try:
        return int(candidate) >= int(held)
    except ValueError:
        return True


class DeploymentStore:
    def __init__(self) -> None:
        self._members: dict[ClusterRef, dict[str, DeploymentObject]] = {}
        self._home: dict[str, ClusterRef] = {}
        self._listed: set[ClusterRef] = set()

    def needs_list(self, ref: ClusterRef) -> bool:
        return ref not in self._listed

    def invalidate(self, ref: ClusterRef) -> None:
        """Make the next pass over ``ref`` read from the API server (resync, another writer)."""
        self._listed.discard(ref)

    def observe(self, body: Mapping[str, Any]) -> None:
        """Take in a watch event's object, unless the store already has a newer version."""
        self.put(DeploymentObject.from_body(body))

    def put(self, deployment: DeploymentObject) -> None:
        """Keep ``deployment`` unless the store already holds a newer version of it."""
        ref = ClusterRef(deployment.namespace, deployment.spec.cluster)
        previous_home = self._home.get(deployment.uid)
        if previous_home is not None:
            held = self._members[previous_home].get(deployment.uid)
            if held and not _newer(deployment.resource_version, held.resource_version):
                return
            if previous_home != ref:
                del self._members[previous_home][deployment.uid]
        self._members.setdefault(ref, {})[deployment.uid] = deployment
        self._home[deployment.uid] = ref

    def forget(self, uid: str) -> None:
        home = self._home.pop(uid, None)
        if home is not None:
            self._members[home].pop(uid, None)

    def replace(self, ref: ClusterRef, listed: list[DeploymentObject]) -> None:
        """Seed a cluster from a LIST: what it lacks is gone, what it has is at least as new."""
        present = {d.uid for d in listed}
        for uid in list(self._members.get(ref, {})):
            if uid not in present:
                self.forget(uid)
        for deployment in listed:
            self.put(deployment)
        self._listed.add(ref)

    def get(self, uid: str) -> DeploymentObject | None:
        home = self._home.get(uid)
        return None if home is None else self._members[home].get(uid)

    def members(self, ref: ClusterRef) -> list[DeploymentObject]:
        return list(self._members.get(ref, {}).values())
