"""The file where ``simplismart login`` keeps its tokens, written by several commands at once."""

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simplismart.api.cli.credentials import Credentials, Login

pytestmark = pytest.mark.unit


def test_logins_at_the_same_time_keep_every_token(tmp_path: Path) -> None:
    """Two terminals logging in to two servers at once: each wrote back what it had read, and
    the later dropped the earlier's token (and they shared one temporary file)."""
    path = tmp_path / "simplismart" / "credentials.json"
    servers = [f"http://api-{i}.example" for i in range(24)]

    def log_in(server: str) -> None:
        Credentials(path).save(Login(server, "ann", f"token of {server}", "2099-01-01T00:00:00Z"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(log_in, servers))
    saved = Credentials(path)
    assert all(
        saved.login_for(s) == Login(s, "ann", f"token of {s}", "2099-01-01T00:00:00Z")
        for s in servers
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "credentials.json",
        "credentials.json.lock",
    ], "no temporary file is left behind"


def test_logging_out_forgets_one_server_only(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    credentials = Credentials(path)
    for server in ("http://a.example", "http://b.example"):
        credentials.save(Login(server, "ann", "t", "2099-01-01T00:00:00Z"))
    assert credentials.forget("http://a.example") is True
    written = path.stat().st_ino  # each write renames a new file over it
    assert credentials.forget("http://a.example") is False
    assert path.stat().st_ino == written, "nothing forgotten, nothing written"
    assert list(json.loads(path.read_text())["logins"]) == ["http://b.example"]


def test_logging_out_where_one_is_not_logged_in_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "simplismart"
    assert Credentials(config / "credentials.json").forget("http://a.example") is False
    assert not config.exists()
