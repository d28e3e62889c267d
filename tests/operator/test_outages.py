"""An unreachable API server or Redis is a line in the log and a retry, never the end of a loop."""

import asyncio
import contextlib
import http.server
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import urllib3
from harness.ports import free_port
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from simplismart.operator import kube, leases
from simplismart.operator.events import EventRecorder
from simplismart.operator.objects import ClusterRef
from simplismart.operator.outages import describe, log_failure
from simplismart.operator.runtime import stop_on_end

pytestmark = pytest.mark.unit


def _reference(uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "simplismart.io/v1alpha1",
        "kind": "Deployment",
        "metadata": {"name": f"d{uid}", "namespace": "n", "uid": uid},
    }


def _refused_request() -> urllib3.exceptions.HTTPError:
    """What the Kubernetes client raises when nothing listens where the API server was."""
    try:
        urllib3.PoolManager().request("GET", f"http://127.0.0.1:{free_port()}/", retries=0)
    except urllib3.exceptions.HTTPError as error:
        return error
    raise AssertionError("a request to a closed port was answered")


def test_a_refused_connection_reads_as_one_line_naming_the_service() -> None:
    assert describe(_refused_request()) == (
        "cannot reach the Kubernetes API server ([Errno 111] Connection refused)"
    )
    with pytest.raises(redis.ConnectionError) as refused:
        redis.Redis(port=free_port()).ping()
    assert (describe(refused.value) or "").startswith("cannot reach Redis (")


def test_only_answers_that_mean_the_server_is_away_or_busy_are_outages() -> None:
    unavailable = ApiException(status=503, reason="Service Unavailable")
    assert describe(unavailable) == "the Kubernetes API server answered 503 Service Unavailable"
    assert describe(ApiException(status=429, reason="Too Many Requests")) is not None
    # Our own mistakes keep their traceback.
    assert describe(ApiException(status=422, reason="Unprocessable Entity")) is None
    assert describe(ValueError("a bug")) is None


def test_an_outage_is_logged_without_its_traceback_and_a_bug_with_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("test")
    with caplog.at_level(logging.ERROR, "test"):
        log_failure(logger, _refused_request(), "pass of %s failed", "ns/pool")
        log_failure(logger, ValueError("a bug"), "pass of %s failed", "ns/pool")
    outage, bug = caplog.records
    assert outage.getMessage() == (
        "pass of ns/pool failed: cannot reach the Kubernetes API server "
        "([Errno 111] Connection refused)"
    )
    assert outage.exc_info is None
    assert bug.getMessage() == "pass of ns/pool failed"
    assert bug.exc_info is not None


def test_event_posting_outlives_an_unreachable_api_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Events are dropped while the API server is away, with one warning, and the worker goes on
    (it ended at the first refused post, and no event was posted for the process's life)."""
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{free_port()}"
    recorder = EventRecorder(client.ApiClient(configuration))
    for index in range(3):
        recorder.announce(_reference(str(index)), "Started", "running")

    async def post() -> bool:
        worker = asyncio.create_task(recorder.run())
        await asyncio.sleep(1.5)
        alive = not worker.done()
        worker.cancel()
        return alive

    with caplog.at_level(logging.WARNING, "simplismart.operator.events"):
        assert asyncio.run(post())
    ours = [r.getMessage() for r in caplog.records if r.name == "simplismart.operator.events"]
    assert ours == [
        "cannot post events: cannot reach the Kubernetes API server "
        "([Errno 111] Connection refused)"
    ]


@pytest.mark.parametrize("ending", ["error", "return", "cancel"])
def test_a_loop_that_ends_stops_the_operator_unless_it_was_cancelled(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()  # as __main__ makes it: before the loop runs

    async def loop() -> None:
        if ending == "error":
            raise RuntimeError("boom")
        if ending == "cancel":
            await asyncio.sleep(60)

    async def run() -> None:
        task = asyncio.create_task(loop(), name="scheduling")
        task.add_done_callback(lambda ended: stop_on_end(ended, stop))
        await asyncio.sleep(0.01)
        if ending == "cancel":
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop

    with caplog.at_level(logging.CRITICAL, "simplismart.operator.runtime"):
        asyncio.run(run())
    assert stop.is_set() == (ending != "cancel")
    if ending == "error":
        (record,) = caplog.records
        assert record.getMessage() == (
            "the scheduling loop ended on RuntimeError: boom; stopping the operator"
        )


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers: a peer gone without a reset."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_call_to_an_api_server_that_never_answers_gives_up(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a timeout the pass waiting on it, and its cluster, waited for ever."""
    monkeypatch.setattr(kube, "REQUEST_TIMEOUT", (1.0, 1.0))
    configuration = client.Configuration(host=f"http://127.0.0.1:{silent_server}")
    configuration.retries = 0
    api = kube.KubeApi(client.ApiClient(configuration))

    async def read() -> None:
        await asyncio.wait_for(api.get_cluster(ClusterRef("n", "c")), 10)

    with pytest.raises(urllib3.exceptions.HTTPError) as silent:
        asyncio.run(read())
    assert "timed out" in (describe(silent.value) or "")


def test_a_redis_command_that_is_never_answered_gives_up(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leases, "COMMAND_SECONDS", 1.0)

    async def take() -> None:
        redis_client = leases.connect(f"redis://127.0.0.1:{silent_server}/0")
        try:
            run = leases.RunId("n", "c", "d", "uid")
            await asyncio.wait_for(leases.RunLeases(redis_client).take(run, 1000), 10)
        finally:
            await redis_client.aclose()

    with pytest.raises(redis.TimeoutError) as silent:
        asyncio.run(take())
    assert (describe(silent.value) or "").startswith("cannot reach Redis (")


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers every PATCH after a second, as a loaded API server would."""

    def do_PATCH(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(1.0)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_write_its_caller_stopped_waiting_for_is_waited_for_before_handing_over() -> None:
    """A cancelled pass stops awaiting its write, but the request goes on and may still land:
    handing the Lease over before it is answered would let the next leader read the cluster
    without it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    configuration = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
    api = kube.KubeApi(client.ApiClient(configuration))

    async def cancelled_then_drained() -> tuple[bool, bool, float]:
        writing = asyncio.create_task(api.patch_cluster_status(ClusterRef("n", "c"), {}))
        await asyncio.sleep(0.2)
        writing.cancel()  # the pass is cancelled: leadership is being given up
        began = time.monotonic()
        early = await api.writes_answered(0.1)
        answered = await api.writes_answered(10)
        return early, answered, time.monotonic() - began

    try:
        early, answered, waited = asyncio.run(cancelled_then_drained())
    finally:
        server.shutdown()
        server.server_close()
    assert (early, answered) == (False, True)
    assert waited >= 0.5, "it waited for the request, not for its cancelled caller"
