"""The operator's store of Deployments: versions only move forward, LISTs seed and prune."""

from typing import Any

import pytest

from simplismart.operator.objects import ClusterRef, DeploymentObject
from simplismart.operator.store import TOMBSTONE_SECONDS, DeploymentStore

pytestmark = pytest.mark.unit

POOL = ClusterRef("ns", "pool")


def body(name: str, version: int, phase: str, cluster: str = "pool") -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "ns",
            "name": name,
            "uid": f"{name}-uid",
            "resourceVersion": str(version),
        },
        "spec": {
            "cluster": cluster,
            "resources": {"cpu": 1, "ram": 1, "gpu": 0},
            "image": "i",
        },
        "status": {"phase": phase} if phase else {},
    }


def phases(store: DeploymentStore, ref: ClusterRef = POOL) -> dict[str, str | None]:
    return {d.name: d.phase for d in store.members(ref)}


def test_a_late_watch_event_does_not_undo_our_own_write() -> None:
    store = DeploymentStore()
    store.observe(DeploymentObject.from_body(body("a", 10, "Queued")))
    store.put(DeploymentObject.from_body(body("a", 12, "Running")))  # our write's answer
    store.observe(DeploymentObject.from_body(body("a", 11, "Queued")))  # the watch, catching up
    assert phases(store) == {"a": "Running"}
    store.observe(DeploymentObject.from_body(body("a", 13, "Succeeded")))
    assert phases(store) == {}, "a finished deployment leaves the store at once"
    assert len(store) == 0


def test_a_late_copy_cannot_bring_back_what_finished_or_was_deleted() -> None:
    store = DeploymentStore()
    store.put(DeploymentObject.from_body(body("a", 20, "Succeeded")))  # our end's answer
    store.observe(
        DeploymentObject.from_body(body("a", 19, "Running"))
    )  # the watch, still behind our write
    store.observe(DeploymentObject.from_body(body("b", 21, "Queued")))
    store.observe(DeploymentObject.from_body(body("b", 22, "Queued")), deleted=True)
    store.put(DeploymentObject.from_body(body("b", 21, "Queued")))  # a stale LIST's copy
    assert phases(store) == {}


def test_a_list_seeds_the_cluster_and_drops_what_is_gone() -> None:
    store = DeploymentStore()
    assert store.needs_list(POOL)
    store.observe(DeploymentObject.from_body(body("gone", 5, "Queued")))
    store.replace(POOL, [DeploymentObject.from_body(body("kept", 7, "Queued"))], "8", 0)
    assert phases(store) == {"kept": "Queued"}
    assert not store.needs_list(POOL)
    store.invalidate(POOL)
    assert store.needs_list(POOL)


def test_a_deployment_moved_to_another_cluster_leaves_the_first() -> None:
    store = DeploymentStore()
    store.observe(DeploymentObject.from_body(body("a", 1, "Queued")))
    store.observe(DeploymentObject.from_body(body("a", 2, "Queued", cluster="other")))
    assert phases(store) == {}
    assert phases(store, ClusterRef("ns", "other")) == {"a": "Queued"}
    store.observe(DeploymentObject.from_body(body("a", 3, "Queued", cluster="other")), deleted=True)
    assert phases(store, ClusterRef("ns", "other")) == {}


def test_a_list_never_undoes_watch_events_newer_than_its_snapshot() -> None:
    """The burst case: a deployment created while a pass's LIST was in flight is seen by the
    watch first; the older snapshot, which lacks it, must not remove it."""
    store = DeploymentStore()
    store.observe(DeploymentObject.from_body(body("old", 4, "Queued")))
    store.observe(
        DeploymentObject.from_body(body("new", 12, ""))
    )  # created after the LIST's snapshot at 10
    store.observe(
        DeploymentObject.from_body(body("old", 11, "Running"))
    )  # and a newer copy of one the LIST has
    listed = [DeploymentObject.from_body(body("old", 9, "Queued"))]
    store.replace(POOL, listed, "10", store.begin_list())
    assert phases(store) == {"old": "Running", "new": None}


def test_an_invalidation_during_a_list_is_not_lost() -> None:
    """Found by the soak: a Cluster edited right after its creation kept its old spec until the
    resync, because the first pass's read, in flight when the edit's event came, marked the
    cluster listed again."""
    store = DeploymentStore()
    begun = store.begin_list()
    store.invalidate(POOL)  # the Cluster's event arrives while the read is in flight
    store.replace(POOL, [], "5", begun)
    assert store.needs_list(POOL), "the next pass must read the new spec"
    begun = store.begin_list()
    store.replace(POOL, [], "6", begun)
    assert not store.needs_list(POOL)


def test_tombstones_expire_where_no_list_prunes_them() -> None:
    """A replica that does not lead never LISTs: it kept a tombstone for every deployment that
    finished or was deleted while it followed."""
    clock = [0.0]
    store = DeploymentStore(clock=lambda: clock[0])
    for index in range(100):
        store.observe(DeploymentObject.from_body(body(f"d{index}", 2 * index + 1, "Succeeded")))
    assert len(store._tombstones) == 100
    store.put(DeploymentObject.from_body(body("d0", 0, "Running")))  # a late copy: refused
    assert phases(store) == {}
    clock[0] = TOMBSTONE_SECONDS + 1
    store.observe(DeploymentObject.from_body(body("late", 1_000, "Succeeded")))
    assert set(store._tombstones) == {"late-uid"}
    assert store._graves == {POOL: {"late-uid": "1000"}}
