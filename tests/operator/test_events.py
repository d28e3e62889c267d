"""The operator's Events, posted to the real API server and read back as kubectl reads them."""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from harness.kube import Namespace, wait_for
from kubernetes import client

from simplismart.crds import CLUSTER
from simplismart.operator.events import NOTE_LIMIT, EventRecorder


def _cluster(namespace: Namespace, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new cluster, and the object reference an Event about it names."""
    namespace.cluster(name, cpu=1, ram=1, gpu=0)
    cluster = namespace.get(CLUSTER, name)
    reference = {"apiVersion": cluster["apiVersion"], "kind": cluster["kind"], "metadata": {
        "name": name, "namespace": namespace.name, "uid": cluster["metadata"]["uid"]
    }}  # fmt: skip
    return cluster, reference


def test_an_event_at_a_whole_second_with_a_long_message_is_posted(
    kube: client.ApiClient, namespace: Namespace
) -> None:
    """The API server wants a time with six decimals (a whole second has none unless written so)
    and a note of at most 1 KiB: neither may cost the event."""
    cluster, reference = _cluster(namespace, "loud")
    whole_second = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC)
    recorder = EventRecorder(kube, clock=lambda: whole_second)
    recorder.announce(reference, "Tested", "é" * NOTE_LIMIT, warning=True)

    async def post() -> None:
        worker = asyncio.create_task(recorder.run())
        await asyncio.sleep(2)
        worker.cancel()

    asyncio.run(post())

    def posted() -> client.CoreV1Event | None:
        events = client.CoreV1Api(kube).list_namespaced_event(namespace.name).items
        return next(
            (e for e in events if e.involved_object.uid == cluster["metadata"]["uid"]), None
        )

    event = wait_for(posted, timeout=10, what="the event")
    assert (event.reason, event.type, event.action) == ("Tested", "Warning", "Schedule")
    assert event.event_time == whole_second
    assert event.reporting_component == "simplismart-operator"
    note = event.message or ""
    assert note.startswith("é" * 100)
    assert note.endswith("...")
    assert len(note.encode()) <= NOTE_LIMIT


def test_events_for_a_namespace_being_deleted_are_dropped_quietly(
    kube: client.ApiClient, namespace: Namespace, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting a namespace with deployments in it answered every Event 403 NamespaceTerminating:
    a warning each, naming nothing."""
    _, reference = _cluster(namespace, "doomed")
    core = client.CoreV1Api(kube)
    # Held in Terminating by a finalizer of the test's own, whatever deletes namespaces here.
    core.patch_namespace(namespace.name, {"metadata": {"finalizers": ["simplismart.io/test"]}})
    core.delete_namespace(namespace.name)
    try:
        recorder = EventRecorder(kube)
        recorder.announce(reference, "Tested", "into a namespace being deleted")

        async def post() -> None:
            worker = asyncio.create_task(recorder.run())
            await asyncio.sleep(2)
            worker.cancel()

        with caplog.at_level(logging.WARNING, logger="simplismart.operator.events"):
            asyncio.run(post())
        status = core.read_namespace(namespace.name).status
        assert status is not None
        assert status.phase == "Terminating"
        assert caplog.records == []
    finally:
        core.patch_namespace(namespace.name, {"metadata": {"finalizers": None}})
