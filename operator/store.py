"""The operator's view of the live Deployments, kept current by the watch and by its own writes.

A scheduling pass must see what it and earlier passes wrote even before the watch shows it, and
reading every deployment of a cluster from the API server on every pass costs more than the pass
itself once queues are long. So, as client-go's informers do, the watch feeds this store, each
successful status write feeds it the object the API server returned, and a pass reads it.

Two rules make it correct:

- Versions only move forward. An object older than what the store holds (a watch lagging behind
  our own write) is ignored; so is one older than a deletion or a finish the store has seen (a
  tombstone). resourceVersions are etcd revisions, compared as integers; Kubernetes calls them
  opaque, so a value that is not an integer is simply accepted.
- A LIST is a snapshot at its own resourceVersion. It never removes an object the store saw at a
  newer version (created after the snapshot was taken), and never replaces a newer copy.

A tombstone is dropped once a LIST of its cluster no longer has the object and the watch has
passed it, or once it is `TOMBSTONE_SECONDS` old, when the next one is made: a replica that does
not lead never LISTs, and kept each one as long as it followed.

Only what scheduling needs is held: unfinished deployments (Pending ones are re-evaluated when
their cluster changes). A finished one leaves at once, so memory follows what is live, not
history. A cluster's members are trusted only after a LIST in this process has seeded them
(``needs_list``), and are LISTed again on every resync, so a missed event cannot persist.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from simplismart.crds import Phase
from simplismart.operator.objects import ClusterRef, DeploymentObject

#: How long a tombstone guards at most: far longer than a LIST in flight or a watch behind.
TOMBSTONE_SECONDS = 600.0


def _version(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _older(candidate: str, held: str) -> bool:
    """True when ``candidate`` is strictly older than ``held`` (unknown order: not older)."""
    mine, theirs = _version(candidate), _version(held)
    return mine is not None and theirs is not None and mine < theirs


@dataclass(frozen=True, slots=True)
class _Tombstone:
    version: str
    buried: float  # when (monotonic)
    ref: ClusterRef


class DeploymentStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._members: dict[ClusterRef, dict[str, DeploymentObject]] = {}
        self._home: dict[str, ClusterRef] = {}
        self._listed: set[ClusterRef] = set()
        # Invalidations are numbered, so a LIST that was in flight when one came (a Cluster's
        # spec edited right after its creation) cannot mark the cluster listed and hide it.
        self._epoch = 0
        self._invalidated_at: dict[ClusterRef, int] = {}
        self._all_invalidated_at = 0
        # uid -> the deletion or finish (oldest first), and per cluster: older copies of it
        # (from a watch lagging behind our own write, or a LIST in flight) must not come back.
        self._tombstones: dict[str, _Tombstone] = {}
        self._graves: dict[ClusterRef, dict[str, str]] = {}
        # The newest resourceVersion the watch delivered, per namespace.
        self._watched: dict[str, str] = {}

    def needs_list(self, ref: ClusterRef) -> bool:
        return ref not in self._listed

    def invalidate(self, ref: ClusterRef) -> None:
        """Make the next pass over ``ref`` read from the API server (resync, a refused or
        unanswered write, a Cluster event)."""
        self._epoch += 1
        self._invalidated_at[ref] = self._epoch
        self._listed.discard(ref)

    def invalidate_all(self) -> None:
        """After gaining leadership: another process may have written since we last listed."""
        self._epoch += 1
        self._all_invalidated_at = self._epoch
        self._listed.clear()

    def begin_list(self) -> int:
        """Call before reading a cluster; hand the number to `replace`."""
        return self._epoch

    def observe(self, deployment: DeploymentObject, deleted: bool = False) -> None:
        """Take in a watch event's object, unless the store already has a newer version."""
        self._watched[deployment.namespace] = deployment.resource_version
        if deleted:
            self._bury(deployment)
        else:
            self.put(deployment)

    def put(self, deployment: DeploymentObject) -> None:
        """Keep ``deployment`` unless a newer version, deletion or finish was seen."""
        uid = deployment.uid
        tombstone = self._tombstones.get(uid)
        if tombstone is not None and not _older(tombstone.version, deployment.resource_version):
            return
        home = self._home.get(uid)
        held = None if home is None else self._members[home].get(uid)
        if held is not None and _older(deployment.resource_version, held.resource_version):
            return
        if deployment.phase == Phase.SUCCEEDED:
            self._bury(deployment)
            return
        ref = ClusterRef(deployment.namespace, deployment.spec.cluster)
        if home is not None and home != ref:
            self._drop(uid)
        self._members.setdefault(ref, {})[uid] = deployment
        self._home[uid] = ref

    def _bury(self, deployment: DeploymentObject) -> None:
        """It was deleted or finished: drop it, and keep a tombstone against older copies."""
        self._drop(deployment.uid)
        ref = ClusterRef(deployment.namespace, deployment.spec.cluster)
        self._tombstones.pop(deployment.uid, None)  # to the end: the order stays oldest first
        self._tombstones[deployment.uid] = _Tombstone(
            deployment.resource_version, self._clock(), ref
        )
        self._graves.setdefault(ref, {})[deployment.uid] = deployment.resource_version
        self._expire()

    def _expire(self) -> None:
        """Drop the tombstones older than `TOMBSTONE_SECONDS`."""
        oldest = self._clock() - TOMBSTONE_SECONDS
        while self._tombstones:
            uid, tombstone = next(iter(self._tombstones.items()))
            if tombstone.buried > oldest:
                return
            self._unbury(uid, tombstone.ref)

    def _unbury(self, uid: str, ref: ClusterRef) -> None:
        self._tombstones.pop(uid, None)
        graves = self._graves.get(ref, {})
        graves.pop(uid, None)
        if not graves:
            self._graves.pop(ref, None)

    def _drop(self, uid: str) -> None:
        home = self._home.pop(uid, None)
        if home is not None:
            members = self._members[home]
            members.pop(uid, None)
            if not members:
                del self._members[home]

    def replace(
        self, ref: ClusterRef, listed: list[DeploymentObject], version: str, begun: int
    ) -> None:
        """Seed a cluster from a LIST taken at resourceVersion ``version``, begun at ``begun``.

        What the store holds but the LIST lacks is gone, unless the store saw it after the
        snapshot: a deployment created while the LIST was in flight must survive it.
        """
        present = {d.uid for d in listed}
        for uid, held in list(self._members.get(ref, {}).items()):
            if uid not in present and not _older(version, held.resource_version):
                self._drop(uid)
        for deployment in listed:
            self.put(deployment)
        latest = max(self._invalidated_at.get(ref, 0), self._all_invalidated_at)
        if latest <= begun:  # else invalidated while the read was in flight: read again
            self._listed.add(ref)
        self._prune(ref, version)

    def _prune(self, ref: ClusterRef, version: str) -> None:
        """Drop the tombstones no older copy can come after: covered by this LIST (which no
        longer has the object) and passed by the watch (which delivers in version order)."""
        watched = self._watched.get(ref.namespace, "0")
        for uid, buried in list(self._graves.get(ref, {}).items()):
            if not _older(version, buried) and not _older(watched, buried):
                self._unbury(uid, ref)

    def forget_cluster(self, ref: ClusterRef) -> None:
        """A deleted cluster's last pass is over: its tombstones guard nothing any more."""
        self._invalidated_at.pop(ref, None)
        for uid in list(self._graves.get(ref, {})):
            self._unbury(uid, ref)

    def get(self, uid: str) -> DeploymentObject | None:
        home = self._home.get(uid)
        return None if home is None else self._members[home].get(uid)

    def members(self, ref: ClusterRef) -> list[DeploymentObject]:
        return list(self._members.get(ref, {}).values())

    def clusters(self) -> list[ClusterRef]:
        """The clusters some unfinished deployment names, whether or not they exist."""
        return [
            ref
            for ref, members in self._members.items()
            if any(d.phase != Phase.SUCCEEDED for d in members.values())
        ]

    def __len__(self) -> int:
        return len(self._home)
