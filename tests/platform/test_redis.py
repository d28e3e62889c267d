"""The test Redis is real and publishes keyspace events for expired keys."""

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
from harness.control_plane import HACK

pytestmark = pytest.mark.integration


def test_expired_keyspace_event_arrives(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    assert "x" in str(connection.config_get("notify-keyspace-events")["notify-keyspace-events"])
    pubsub = connection.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.psubscribe("__keyevent@*__:expired")
    key = f"harness:{uuid.uuid4().hex}"
    connection.set(key, "1", px=1000)
    deadline = time.monotonic() + 10
    expired: list[str] = []
    while time.monotonic() < deadline and key not in expired:
        message = pubsub.get_message(timeout=0.5)
        if message:
            expired.append(message["data"])
    pubsub.close()
    assert key in expired
    assert connection.exists(key) == 0


def test_a_taken_port_is_refused_rather_than_answered_by_another_server(
    redis_url: str, tmp_path: Path
) -> None:
    # The test Redis already listens there: its ping used to pass for the new server's, which
    # had exited on "Address already in use".
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    refused = subprocess.run(
        [HACK / "redis-up.sh", tmp_path / "redis", port], capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert f"port {port} is taken by another process" in refused.stderr
    assert "SIMPLISMART_REDIS_PORT" in refused.stderr
    assert not (tmp_path / "redis" / "pids").exists()  # nothing started
