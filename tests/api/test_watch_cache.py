"""The watch cache's parts: version order, the change feed's resume rules, page tokens, relist."""

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness.kube import wait_for

from simplismart.api.cache import ChangeFeed, DeploymentFacets, PageToken, Store, WatchCache
from simplismart.api.cache.changes import Resume
from simplismart.api.cache.store import Applied
from simplismart.api.cache.watch import render_deployment
from simplismart.api.errors import UnprocessableError
from simplismart.crds import DEPLOYMENT
from tests.api.fake_kube import FakeKube

pytestmark = pytest.mark.unit

SPEC = {"cluster": "c1", "resources": {"cpu": 1, "ram": 1, "gpu": 0}, "image": "x"}


def _deployment(name: str, version: int, phase: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "metadata": {"namespace": "ns", "name": name, "resourceVersion": str(version)},
        "spec": SPEC,
    }
    if phase:
        resource["status"] = {"phase": phase}
    return resource


@pytest.fixture
def heard() -> list[Applied[DeploymentFacets]]:
    return []


@pytest.fixture
def store(heard: list[Applied[DeploymentFacets]]) -> Store[DeploymentFacets]:
    return Store(render_deployment, heard.append)


def _phases(store: Store[DeploymentFacets]) -> dict[str, str]:
    return {entry.name: entry.facets.phase for entry in store.after("ns", None)}


def test_an_older_version_never_replaces_a_newer_one(
    store: Store[DeploymentFacets], heard: list[Applied[DeploymentFacets]]
) -> None:
    store.upsert(_deployment("d1", 5, "Running"))
    store.upsert(_deployment("d1", 4, "Queued"))
    store.upsert(_deployment("d1", 5, "Queued"))
    assert _phases(store) == {"d1": "Running"}
    assert [(a.type, a.entry.version) for a in heard] == [("ADDED", 5)]


def test_a_deletion_is_not_undone_by_a_late_event(store: Store[DeploymentFacets]) -> None:
    store.upsert(_deployment("d1", 5))
    store.delete(_deployment("d1", 6))
    store.upsert(_deployment("d1", 6, "Queued"))
    assert _phases(store) == {}
    store.upsert(_deployment("d1", 7))  # created again, later
    assert _phases(store) == {"d1": "Pending"}


def test_a_list_removes_what_it_lacks_but_keeps_newer_writes(
    store: Store[DeploymentFacets], heard: list[Applied[DeploymentFacets]]
) -> None:
    store.upsert(_deployment("gone", 3))
    store.upsert(_deployment("kept", 4))
    store.upsert(_deployment("written-after-the-list", 12))
    store.replace([_deployment("kept", 9, "Queued"), _deployment("new", 8)], version=10)
    assert _phases(store) == {
        "kept": "Queued",
        "new": "Pending",
        "written-after-the-list": "Pending",
    }
    assert ("DELETED", "gone") in [(a.type, a.entry.name) for a in heard]


def test_entries_resume_after_a_name(store: Store[DeploymentFacets]) -> None:
    for index, name in enumerate(("b", "d", "a", "c")):
        store.upsert(_deployment(name, index + 1))
    assert [e.name for e in store.after("ns", "b")] == ["c", "d"]
    assert [e.name for e in store.after("ns", "bb")] == ["c", "d"]
    assert [e.name for e in store.after("elsewhere", None)] == []


def test_the_feed_resumes_within_its_ring_and_resets_beyond_it() -> None:
    feed = ChangeFeed(capacity=3)
    start = feed.resume("ns", None)
    # ns gets its changes 1, 2, 3 (sequences 1, 3, 5), other its 1, 2 (sequences 2, 4); the
    # ring keeps sequences 3, 4, 5.
    for index in range(5):
        feed.publish("ns" if index % 2 == 0 else "other", "deployment", "ADDED", b"{}")
    resumed = feed.resume("ns", feed.event_id(1))
    assert resumed == Resume(cursor=2, number=1, reset=False)  # its change 2 is still kept
    batch = feed.after(resumed.cursor, "ns", resumed.number)
    assert [(c.sequence, c.number) for c in batch.changes] == [(3, 2), (5, 3)]
    assert (batch.cursor, batch.number, batch.lost) == (5, 3, False)
    assert feed.resume("ns", feed.event_id(3)) == Resume(cursor=5, number=3, reset=False)
    assert feed.resume("ns", feed.event_id(start.number)).reset is True  # its change 1 is gone
    assert feed.resume("ns", "another-process-3").reset is True
    assert feed.resume("ns", feed.event_id(99)).reset is True


def test_event_ids_count_one_namespace_only() -> None:
    """Ids tell a subscriber how many changes its organization saw, never the others'."""
    feed = ChangeFeed()
    feed.publish("ns", "deployment", "ADDED", b"{}")
    for _ in range(50):
        feed.publish("busy", "deployment", "MODIFIED", b"{}")
    feed.publish("ns", "deployment", "MODIFIED", b"{}")
    batch = feed.after(0, "ns", 0)
    assert [c.number for c in batch.changes] == [1, 2]
    assert feed.resume("ns", None).number == 2


def test_a_subscriber_that_fell_behind_the_ring_is_told_to_reload() -> None:
    """A slow reader whose namespace's changes left the ring before it read them gets no
    later change as if nothing were missing: the batch says they are lost."""
    feed = ChangeFeed(capacity=3)
    start = feed.resume("ns", None)
    feed.publish("ns", "deployment", "ADDED", b"{}")  # number 1: will fall out
    for _ in range(3):
        feed.publish("other", "deployment", "MODIFIED", b"{}")
    behind = feed.after(start.cursor, "ns", start.number)
    assert (behind.changes, behind.number, behind.lost) == ([], 1, True)
    feed.publish("ns", "deployment", "MODIFIED", b"{}")  # number 2, after the reset
    caught_up = feed.after(behind.cursor, "ns", behind.number)
    assert [c.number for c in caught_up.changes] == [2]
    assert caught_up.lost is False
    # Only what this namespace lost counts: the other's gap is not its concern.
    assert feed.after(start.cursor, "elsewhere", 0).lost is False


def test_page_tokens_round_trip_and_refuse_anything_else() -> None:
    assert PageToken.decode(PageToken.encode("d-0042")) == "d-0042"
    for bad in ("", "!!!", "bnVsbA", "eyJhZnRlciI6IDF9"):
        with pytest.raises(UnprocessableError) as refused:
            PageToken.decode(bad)
        assert refused.value.errors[0].field == "continue"


@pytest.fixture
def running_cache() -> Iterator[tuple[FakeKube, WatchCache]]:
    kube = FakeKube()
    kube.create_namespace("org-1", 1, "claim-1")
    kube.create_namespace("elsewhere", 2, "claim-2")
    loop = asyncio.new_event_loop()
    cache = WatchCache(kube, "org-")
    cache.start(loop)
    yield kube, cache
    cache.stop()
    time.sleep(1.1)  # the fake ends each watch within a second
    loop.close()


def _cached(cache: WatchCache) -> list[str]:
    return [entry.name for entry in cache.deployments.after("org-1", None)]


def test_the_cache_follows_the_watch_and_only_organizations(
    running_cache: tuple[FakeKube, WatchCache],
) -> None:
    kube, cache = running_cache
    cache.ready()
    kube.create_object(DEPLOYMENT, "org-1", "d1", SPEC, {})
    kube.create_object(DEPLOYMENT, "elsewhere", "x", SPEC, {})
    kube.set_status(DEPLOYMENT, "org-1", "d1", {"phase": "Queued"})
    wait_for(
        lambda: [e.facets.phase for e in cache.deployments.after("org-1", None)] == ["Queued"],
        timeout=5,
    )
    assert list(cache.deployments.after("elsewhere", None)) == []


def test_after_410_gone_the_cache_lists_again(running_cache: tuple[FakeKube, WatchCache]) -> None:
    kube, cache = running_cache
    kube.create_object(DEPLOYMENT, "org-1", "d1", SPEC, {})
    kube.create_object(DEPLOYMENT, "org-1", "d2", SPEC, {})
    cache.ready()
    wait_for(lambda: _cached(cache) == ["d1", "d2"], timeout=5)
    # d2 disappears with no event, and the history the watch would resume from is compacted:
    # only a new LIST can tell the cache.
    kube.vanish(DEPLOYMENT, "org-1", "d2")
    kube.compact()
    wait_for(lambda: _cached(cache) == ["d1"], timeout=10, what="the relist after 410")


def test_an_unreadable_object_is_skipped_not_fatal(store: Store[DeploymentFacets]) -> None:
    broken = _deployment("broken", 1)
    broken["spec"] = {"cluster": "c1"}
    store.upsert(broken)
    store.upsert(_deployment("fine", 2))
    assert _phases(store) == {"fine": "Pending"}
