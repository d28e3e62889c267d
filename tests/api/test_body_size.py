"""Finding 6: oversized bodies are refused with 413 before they are read."""

from collections.abc import Iterator

from tests.api.conftest import ApiFactory


def test_a_declared_oversized_body_is_refused(api_with: ApiFactory) -> None:
    api = api_with(max_body_bytes=4096)
    answer = api.call(
        "POST",
        "/login",
        content=b'{"username": "' + b"a" * 8192 + b'", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["errors"] == [{"field": "body", "message": "must be at most 4096 bytes"}]


def test_a_chunked_oversized_body_is_refused_once_it_passes_the_limit(
    api_with: ApiFactory,
) -> None:
    api = api_with(max_body_bytes=4096)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            sent.append(1)
            yield b" " * 1024

    answer = api.call(
        "POST", "/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert "larger than 4096 bytes" in answer.json()["message"]
    assert answer.json()["errors"] == [{"field": "body", "message": "must be at most 4096 bytes"}]


def test_a_body_within_the_limit_is_served(api_with: ApiFactory) -> None:
    api = api_with(max_body_bytes=4096)
    assert api.call("POST", "/login", json={"username": "x", "password": "y"}).status_code == 401
