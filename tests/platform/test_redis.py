"""The test Redis is real and publishes keyspace events for expired keys."""

import time
import uuid

import pytest
import redis

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
