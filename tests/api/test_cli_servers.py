"""The command-line client against servers that misbehave: a proxy's error pages, a redirect, a
stream that goes silent, bodies of the wrong shape. Each is a real HTTP server on loopback."""

import email.utils
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from simplismart.api.cli import client as cli_client
from simplismart.api.cli.client import Client, CliError, StreamBrokenError, path

pytestmark = pytest.mark.unit

EXECUTABLE = Path(sys.executable).parent / "simplismart"
#: (status, headers, body) for a request's method and path.
Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[BaseHTTPRequestHandler], Answer | None]


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route]
    seen: list[str]

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        route = self.routes.get(f"{self.command} {self.path.split('?')[0]}")
        answer = (404, {}, b"no route") if route is None else route(self)
        if answer is None:
            return  # the route wrote (or withheld) the answer itself
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - the names http.server calls

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, Route], list[str]]]:
    """A server's address, its routes (filled by the test) and the requests it saw."""
    routes: dict[str, Route] = {}
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"routes": routes, "seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _json(status: int, body: object, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _cli(
    server: str, home: Path, *args: str, timeout: float = 30, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIMPLISMART_")},
        "XDG_CONFIG_HOME": str(home),
        "SIMPLISMART_PASSWORD": "a password",
        "COLUMNS": "80",
        **env,
    }
    done = subprocess.run(
        [EXECUTABLE, "--server", server, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _logged_in(server: str, routes: dict[str, Route], home: Path) -> None:
    user = {"id": 1, "username": "ann", "role": "ADMIN", "organization": None}
    answer = {"message": "ok", "access_token": "t", "expires_at": "2099-01-01T00:00:00Z"}
    routes["POST /login"] = lambda _: _json(200, {**answer, "user": user})
    assert _cli(server, home, "login", "--username", "ann").returncode == 0


# --- the event stream -------------------------------------------------------------------------


def test_a_stream_gone_silent_is_given_up_and_reconnected(
    server: tuple[str, dict[str, Route], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that died without a word (a laptop's sleep, a proxy's idle drop) kept
    `watch` waiting for ever: it had no read timeout."""
    url, routes, _ = server
    held = threading.Event()

    def silent(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        handler.wfile.flush()
        held.wait(10)  # then nothing: not even a heartbeat

    routes["GET /events"] = silent
    monkeypatch.setattr(cli_client, "STREAM_SILENCE", 0.5)
    begun = time.monotonic()
    with pytest.raises(StreamBrokenError, match="nothing heard"):
        list(Client(url, "t").events(None))
    held.set()
    assert time.monotonic() - begun < 5


@pytest.mark.parametrize("status", [500, 502, 504, 408])
def test_a_failing_proxy_is_waited_out_for_as_long_as_it_asks(
    server: tuple[str, dict[str, Route], list[str]], status: int
) -> None:
    """An ingress answers 502 or 504 while the API's pods restart: `watch` ended on them."""
    url, routes, _ = server
    page = b"<html><body>Bad Gateway</body></html>"
    routes["GET /events"] = lambda _: (
        status,
        {"Content-Type": "text/html", "Retry-After": "7"},
        page,
    )
    with pytest.raises(StreamBrokenError) as broken:
        list(Client(url, "t").events(None))
    assert broken.value.retry_after == 7.0
    assert "<html>" not in str(broken.value)


def test_watch_prints_each_change_on_one_line_with_its_escapes_shown(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    change = {"type": "MODIFIED", "deployment": {"name": "d" * 70, "phase": "Running\x1b[2J"}}
    stream = f"id: 1\nevent: deployment\ndata: {json.dumps(change)}\n\n".encode()
    routes["GET /events"] = lambda _: (200, {"Content-Type": "text/event-stream"}, stream)
    with pytest.raises(subprocess.TimeoutExpired) as watching:
        _cli(url, tmp_path, "watch", timeout=3, SIMPLISMART_RECONNECT_SECONDS="0.5")
    out = watching.value.stdout
    text = out.decode() if isinstance(out, bytes) else str(out)
    lines = [line for line in text.splitlines() if "deployment" in line]
    assert lines, text
    assert all(f"deployment {'d' * 70} modified Running\\x1b[2J" in line for line in lines)
    assert "\x1b" not in text


def test_watch_refuses_a_reconnect_pause_that_is_not_seconds(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    done = _cli(url, tmp_path, "watch", SIMPLISMART_RECONNECT_SECONDS="soon")
    assert done.returncode == 1
    assert "SIMPLISMART_RECONNECT_SECONDS must be seconds" in done.stderr


# --- answers that are not the API's ------------------------------------------------------------


def test_a_web_servers_page_is_named_not_printed(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    page = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head></html>"
    routes["POST /login"] = lambda _: (404, {"Content-Type": "text/html"}, page)
    done = _cli(url, tmp_path, "login", "--username", "ann")
    assert done.returncode == 1
    assert "did not answer like a Simplismart API (HTTP 404, text/html)" in done.stderr
    assert "DOCTYPE" not in done.stderr


def test_a_redirect_names_where_it_leads(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    routes["POST /login"] = lambda _: (307, {"Location": "https://api.example/login"}, b"")
    done = _cli(url, tmp_path, "login", "--username", "ann")
    assert done.returncode == 1
    assert "redirects to https://api.example/login" in done.stderr


@pytest.mark.parametrize(
    "errors", [["x"], {"cpu": "wrong"}, [None], "wrong"], ids=["strings", "object", "null", "text"]
)
def test_errors_of_an_unexpected_shape_still_give_the_message(
    server: tuple[str, dict[str, Route], list[str]], errors: object
) -> None:
    url, routes, _ = server
    routes["GET /clusters"] = lambda _: _json(422, {"message": "refused", "errors": errors})
    with pytest.raises(CliError, match=r"refused \[HTTP 422\]"):
        Client(url, "t").get("/clusters")


def test_an_answer_that_cannot_be_decoded_is_an_error_not_a_crash(
    server: tuple[str, dict[str, Route], list[str]],
) -> None:
    url, routes, _ = server
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    routes["GET /clusters"] = lambda _: (200, headers, b"not gzip at all")
    with pytest.raises(CliError, match="cannot be read"):
        Client(url, "t").get("/clusters")
    routes["GET /clusters"] = lambda _: (200, headers, gzip.compress(b'{"message": "ok"}'))
    with pytest.raises(CliError, match="did not answer like a Simplismart API"):
        Client(url, "t").pages("/clusters", "clusters", None)


def test_the_servers_text_reaches_the_terminal_escaped(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    message = "bad gateway \x1b]0;PWNED\x07\x1b[31mRED"
    routes["POST /login"] = lambda _: _json(401, {"message": message, "errors": []})
    done = _cli(url, tmp_path, "login", "--username", "ann")
    assert done.returncode == 1
    assert "\x1b" not in done.stderr
    assert "bad gateway \\x1b]0;PWNED\\x07\\x1b[31mRED [HTTP 401]" in done.stderr
    assert "log in with" not in done.stderr  # this was the login


def test_dot_names_stay_names(server: tuple[str, dict[str, Route], list[str]]) -> None:
    """URLs resolve '.' and '..' away: `cluster show .` asked for the list of clusters."""
    url, routes, seen = server
    routes["GET /clusters/%2E%2E"] = lambda _: _json(404, {"message": "no", "errors": []})
    assert path("clusters", "..") == "/clusters/%2E%2E"
    with pytest.raises(CliError, match="no"):
        Client(url, "t").get(path("clusters", ".."))
    assert seen == ["GET /clusters/%2E%2E"]


def test_a_server_address_that_is_not_a_url_is_refused(tmp_path: Path) -> None:
    done = _cli("http://localhost:50O2", tmp_path, "login", "--username", "ann")
    assert done.returncode == 2
    assert "is not a URL" in done.stderr


def test_a_password_on_the_command_line_is_warned_about(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    done = _cli(url, tmp_path, "login", "--username", "ann", "--password", "pw")
    assert done.returncode == 0
    assert "visible to this machine's other users" in done.stderr
    quiet = _cli(url, tmp_path, "login", "--username", "ann")  # from SIMPLISMART_PASSWORD
    assert "warning" not in quiet.stderr


def test_a_status_record_of_another_shape_is_shown_as_far_as_it_goes(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    """Statuses are free-form to the API (another operator version may write them):
    `cluster show` crashed on a gap that is not a number or a time that is not one."""
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    cluster = {
        "name": "c1",
        "strategy": "auto",
        "total_cpu": 4,
        "observed": True,
        "last_decision": {"gap": "small", "at": "yesterday", "strategy": "auto"},
        "last_preemption": {"victims": ["a"], "preemptors": ["b"], "at": 5},
    }
    routes["GET /clusters/c1"] = lambda _: _json(200, {"message": "c1", "cluster": cluster})
    done = _cli(url, tmp_path, "cluster", "show", "c1", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "gap —" in done.stdout
    assert "evicted a for b" in done.stdout
    assert "None ago" not in done.stdout


def test_a_cancellations_message_reaches_the_terminal_escaped(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    cancelled = {"message": "deployment 'd1' cancelled\x1b[2J", "deployment": {}}
    routes["DELETE /deployments/d1"] = lambda _: _json(200, cancelled)
    deleted = {
        "message": "cluster 'c1' deleted\x1b[2J; 2 deployment(s) cancelled",
        "cluster": None,
        "cancelled_deployments": ["d1", "d2\x1b[2J"],
    }
    routes["DELETE /clusters/c1"] = lambda _: _json(200, deleted)
    shown = _cli(url, tmp_path, "deploy", "cancel", "d1").stdout
    shown += _cli(url, tmp_path, "cluster", "delete", "c1").stdout
    assert "\x1b" not in shown
    assert "deployment 'd1' cancelled\\x1b[2J" in shown
    assert "cluster 'c1' deleted\\x1b[2J; 2 deployment(s) cancelled" in shown
    assert "cancelled: d1, d2\\x1b[2J" in shown


def test_etas_and_waits_count_from_the_servers_clock(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    """This machine's clock ten minutes behind the server's: the ETA and the wait are the
    server's, as the dashboard shows them, not ten minutes off."""
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    ahead = 600.0
    queued = {"name": "d1", "priority": 1, "position": 1, "message": "reserved"}

    def answer(handler: BaseHTTPRequestHandler) -> None:
        server_now = time.time() + ahead
        entry = {**queued, "queued_at": _rfc3339(server_now - 30)}
        entry["estimated_start_at"] = _rfc3339(server_now + 95)
        body = json.dumps({"message": "c1", "cluster": {"name": "c1", "queue": [entry]}})
        handler.send_response_only(200)
        handler.send_header("Date", email.utils.formatdate(server_now, usegmt=True))
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body.encode())

    routes["GET /clusters/c1"] = answer
    done = _cli(url, tmp_path, "queue", "c1", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert re.search(r"\b(29|30|31)s\s.*\b1m 3[456]s\b", done.stdout), done.stdout


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


def test_a_list_that_pages_without_end_is_an_error_not_a_loop(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, seen = server
    _logged_in(url, routes, tmp_path)
    page = {"message": "1 cluster", "clusters": [{"name": "c1"}], "continue": "same"}
    routes["GET /clusters"] = lambda _: _json(200, page)
    done = _cli(url, tmp_path, "cluster", "list", timeout=20)
    assert done.returncode != 0
    assert "pages without end" in done.stderr
    assert sum(request.startswith("GET /clusters") for request in seen) <= 3


def test_a_limit_the_server_ignores_is_kept_all_the_same(tmp_path: Path) -> None:
    client = Client("http://api.invalid", None)
    rows = [{"name": f"d{i}"} for i in range(3)]
    client.get = lambda *_a, **_k: {"deployments": rows, "continue": "more"}  # type: ignore[method-assign]
    assert client.pages("/deployments", "deployments", 1) == rows[:1]


@pytest.mark.parametrize(
    "address",
    ["http://ann:s3cret@127.0.0.1:5002", "http://127.0.0.1:5002/?x=1", "http://127.0.0.1:5002#x"],
    ids=["userinfo", "query", "fragment"],
)
def test_a_server_address_with_more_than_an_address_is_refused(
    tmp_path: Path, address: str
) -> None:
    """A user:password@ went to the server as Basic auth and was printed in every message."""
    done = _cli(address, tmp_path, "login", "--username", "ann")
    assert done.returncode == 2
    assert "no user:password@, no ?query, no #fragment" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("route", "args", "body"),
    [
        ("GET /clusters/c1", ("queue", "c1"), {"message": "c1", "cluster": {"name": "c1"}}),
        ("GET /clusters/c1", ("queue", "c1"), {"message": "c1", "cluster": ["c1"]}),
        (
            "GET /clusters/c1",
            ("cluster", "show", "c1"),
            {
                "message": "c1",
                "cluster": {
                    "name": "c1",
                    "strategy": "auto",
                    "observed": True,
                    "last_decision": ["auto"],
                    "last_preemption": {"victims": 3, "preemptors": ["b"]},
                },
            },
        ),
        ("GET /deployments/d1", ("deploy", "show", "d1"), {"message": "d1", "deployment": {}}),
        ("POST /login", ("login", "--username", "ann"), {"message": "in", "access_token": 1}),
    ],
    ids=[
        "queue-missing",
        "cluster-a-list",
        "preemption-victims-a-number",
        "deployment-empty",
        "login-token-not-text",
    ],
)
def test_an_answer_of_another_shape_is_an_error_naming_the_server(
    server: tuple[str, dict[str, Route], list[str]],
    tmp_path: Path,
    route: str,
    args: tuple[str, ...],
    body: dict[str, object],
) -> None:
    """Another version of the API (or another server) answering 200 in another shape: the
    CLI ended in a traceback (KeyError, TypeError) instead of saying so."""
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    routes[route] = lambda _: _json(200, body)
    done = _cli(url, tmp_path, *args)  # asserts there is no traceback
    assert done.returncode == 1, done.stdout
    assert f"{url} answered in a shape this CLI cannot read" in done.stderr
    saved = json.loads((tmp_path / "simplismart" / "credentials.json").read_text())
    assert saved["logins"][url]["token"] == "t", "the earlier login is kept, not overwritten"


def test_the_login_line_is_escaped(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    user = {"id": 1, "username": "ann", "role": "ADMIN\x1b[2J", "organization": None}
    answer = {"message": "ok", "access_token": "t", "expires_at": "2099\x1b]0;x\x07"}
    routes["POST /login"] = lambda _: _json(200, {**answer, "user": user})
    done = _cli(url, tmp_path, "login", "--username", "ann", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert "(ADMIN\\x1b[2J); the token expires at 2099\\x1b]0;x\\x07" in done.stdout


@pytest.mark.parametrize("asked", ["inf", "1e9", "nan"])
def test_a_retry_after_of_for_ever_is_capped(
    server: tuple[str, dict[str, Route], list[str]], asked: str
) -> None:
    """`Retry-After: inf` made `watch` crash (time.sleep overflows); an hour left it silent."""
    url, routes, _ = server
    routes["GET /events"] = lambda _: _json(503, {"message": "busy"}, **{"Retry-After": asked})
    with pytest.raises(StreamBrokenError) as broken:
        list(Client(url, "t").events(None))
    assert broken.value.retry_after == (None if asked == "nan" else cli_client.MAX_RETRY_AFTER)


def test_watch_as_json_prints_one_change_per_line(
    server: tuple[str, dict[str, Route], list[str]], tmp_path: Path
) -> None:
    url, routes, _ = server
    _logged_in(url, routes, tmp_path)
    changes = [
        {"type": "ADDED", "deployment": {"name": f"d{i}", "phase": "Queued"}} for i in range(3)
    ]
    stream = "".join(
        f"id: {i}\nevent: deployment\ndata: {json.dumps(c)}\n\n" for i, c in enumerate(changes)
    ).encode()
    routes["GET /events"] = lambda _: (200, {"Content-Type": "text/event-stream"}, stream)
    with pytest.raises(subprocess.TimeoutExpired) as watching:
        _cli(url, tmp_path, "-o", "json", "watch", timeout=3, SIMPLISMART_RECONNECT_SECONDS="5")
    out = watching.value.stdout
    lines = (out.decode() if isinstance(out, bytes) else str(out)).splitlines()
    assert [json.loads(line) for line in lines] == [{"event": "deployment", **c} for c in changes]
