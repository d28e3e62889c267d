"""``simplismart`` (the installed console script) against the stack `make up` starts."""

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.kube import wait_for

from tests.e2e.accounts import PASSWORD, Root, bearer, founder, promote, register, team, token
from tests.e2e.clusters import allow_preemption

pytestmark = pytest.mark.e2e

EXECUTABLE = Path(sys.executable).parent / "simplismart"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _environment(stack: dict[str, Any], home: Path) -> dict[str, str]:
    """One person's: their own config directory, the stack's server."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SIMPLISMART_")},
        "XDG_CONFIG_HOME": str(home),
        "SIMPLISMART_SERVER": stack["url"],
        "SIMPLISMART_PASSWORD": PASSWORD,
        "COLUMNS": "200",
    }


def _cli_for(stack: dict[str, Any], home: Path) -> Cli:
    env = _environment(stack, home)

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [EXECUTABLE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == expect, (args, done.stdout, done.stderr)
        # An uncaught exception exits 1 as well: every failure must be a message instead.
        assert "Traceback" not in done.stderr, (args, done.stderr)
        return done

    return run


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def test_a_team_works_from_the_command_line(
    stack: dict[str, Any], installation: Root, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    founder(api, installation, "cli-boss")
    boss = _cli_for(stack, tmp_path / "boss")
    boss("login", "--username", "cli-boss")
    credentials = tmp_path / "boss" / "simplismart" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    organization = _json(boss("-o", "json", "org", "create", "acme"))["organization"]

    dev_id = register(api, "cli-dev")
    developer = _cli_for(stack, tmp_path / "developer")
    developer("login", "--username", "cli-dev")
    assert "acme" in developer("org", "join", organization["invite_code"]).stdout
    refused = developer(
        "cluster", "create", "c1", "--cpu", "4", "--ram", "4", "--gpu", "0", expect=1
    )
    assert "requires the DEVELOPER role" in refused.stderr
    assert "[HTTP 403]" in refused.stderr
    promote(api, token(api, "cli-boss"), dev_id, "DEVELOPER")  # roles have no CLI command yet

    developer("cluster", "create", "c1", "--cpu", "4", "--ram", "4", "--gpu", "0")
    listed = _json(developer("-o", "json", "cluster", "list"))["clusters"]
    assert [c["name"] for c in listed] == ["c1"]
    # The original's notation, HIGH(1), as well as ours.
    for name, priority in (("first", "high"), ("second", "1")):
        developer(
            *("deploy", "create", name, "--cluster", "c1", "--cpu", "3", "--ram", "1"),
            *("--gpu", "0", "--image", "registry.example/m:1", "--duration", "30"),
            *("--priority", priority),
        )

    def queued() -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = _json(developer("-o", "json", "queue", "c1"))["queue"]
        return entries or None

    queue = wait_for(queued, timeout=30, what="a queue on c1")
    assert [entry["position"] for entry in queue] == [1]
    waiting = queue[0]["name"]
    running = _json(
        developer("-o", "json", "deploy", "list", "--phase", "running", "--priority", "HIGH")
    )
    assert [d["name"] for d in running["deployments"]] == [
        {"first", "second"}.difference({waiting}).pop()
    ]
    table = developer("queue", "c1").stdout
    assert waiting in table
    assert "HIGH" in table

    shown = _json(developer("-o", "json", "cluster", "show", "c1"))["cluster"]
    assert shown["allocated"]["cpu"] == 3
    assert shown["last_decision"]["strategy"]
    assert "cancelled" in developer("deploy", "cancel", waiting).stdout
    gone = developer("deploy", "show", waiting, expect=1)
    assert "not found" in gone.stderr
    assert "[HTTP 404]" in gone.stderr

    assert "[HTTP 403]" in developer("cluster", "delete", "c1", expect=1).stderr
    deleted = boss("cluster", "delete", "c1").stdout
    assert "cluster 'c1' deleted; 1 deployment(s) cancelled" in deleted
    assert f"cancelled: {running['deployments'][0]['name']}" in deleted
    assert _json(boss("-o", "json", "cluster", "list"))["clusters"] == []


def test_errors_are_clear(stack: dict[str, Any], installation: Root, tmp_path: Path) -> None:
    cli = _cli_for(stack, tmp_path)
    assert "not logged in" in cli("cluster", "list", expect=1).stderr
    with httpx.Client(base_url=stack["url"]) as api:
        team(api, installation, "errors")
    cli("login", "--username", "errors-developer")
    bad = cli(
        *("deploy", "create", "Bad_Name", "--cluster", "c1", "--cpu", "-1", "--ram", "1"),
        *("--gpu", "0", "--image", "x"),
        expect=1,
    )
    assert "[HTTP 422]" in bad.stderr
    assert "name:" in bad.stderr
    assert "cpu:" in bad.stderr
    priority = cli("deploy", "list", "--priority", "2", expect=2).stderr
    assert "'2' is not one of high, low, 1, 0" in priority
    nowhere = cli("--server", "http://127.0.0.1:1", "login", "--username", "x", expect=1)
    assert "cannot reach the API at http://127.0.0.1:1" in nowhere.stderr
    assert "--server" in cli("--server", "localhost:5002", "cluster", "list", expect=2).stderr


def test_watch_prints_changes_until_the_watcher_is_removed(
    stack: dict[str, Any], installation: Root, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    people = team(api, installation, "watchers")
    _cli_for(stack, tmp_path)("login", "--username", people.viewer)
    watcher = subprocess.Popen(
        [EXECUTABLE, "-o", "json", "watch"],
        env={**_environment(stack, tmp_path), "SIMPLISMART_RECONNECT_SECONDS": "0.2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    output = watcher.stdout

    def read_until(text: str) -> str:
        seen = ""
        while text not in seen:
            line = output.readline()
            assert line, f"watch ended before printing {text}"
            seen += line
        return seen

    developer = bearer(api, people.developer)

    def create_cluster(name: str) -> None:
        body = {"name": name, "total_cpu": 1, "total_ram": 1, "total_gpu": 0}
        created = api.post("/create_cluster", headers=developer, json=body)
        assert created.status_code == 201, created.text

    try:
        read_until('"event": "ready"')  # following: what happens from now on is printed
        create_cluster("watched")
        assert '"event": "cluster"' in read_until('"watched"')
        viewer = api.get("/me", headers=bearer(api, people.viewer)).json()["user"]["id"]
        removed = api.post(
            "/remove_member", headers=bearer(api, people.admin), json={"user_id": viewer}
        )
        assert removed.status_code == 200, removed.text
        # The stream reads the caller's access at most once a second: past that, the next
        # change ends it, unsent, and the reconnect is refused.
        time.sleep(1.5)
        create_cluster("unseen")
        printed, errors = watcher.communicate(timeout=30)
        assert watcher.returncode == 1
        assert "unseen" not in printed
        assert "not a member of any organization" in errors
    finally:
        watcher.kill()
        watcher.wait(10)


def test_what_the_api_and_the_user_write_is_taken_literally(
    stack: dict[str, Any], installation: Root, tmp_path: Path
) -> None:
    """A name is one URL segment, API text is never Rich markup, and a server that is not
    the API, or a credentials file edited by hand, gets a message, not a traceback."""
    with httpx.Client(base_url=stack["url"]) as api:
        team(api, installation, "literal")
    cli = _cli_for(stack, tmp_path)
    cli("login", "--username", "literal-developer")
    cli("cluster", "create", "c1", "--cpu", "4", "--ram", "4", "--gpu", "0")
    for name, image in (("closing", "r.example/[/x]:1"), ("styled", "r.example/[red]m:1")):
        cli(
            *("deploy", "create", name, "--cluster", "c1", "--cpu", "1", "--ram", "1"),
            *("--gpu", "0", "--image", image, "--duration", "60"),
        )
        assert image in cli("deploy", "show", name).stdout
    # 'closing?x' is not the deployment 'closing' with a query string.
    assert "[HTTP 422]" in cli("deploy", "cancel", "closing?x", expect=1).stderr
    assert "closing" in cli("deploy", "show", "closing").stdout

    metrics = f"http://127.0.0.1:{stack['ports']['METRICS']}"
    credentials = tmp_path / "simplismart" / "credentials.json"
    saved = json.loads(credentials.read_text())
    saved["logins"][metrics] = {**saved["logins"][stack["url"]]}
    credentials.write_text(json.dumps(saved))
    elsewhere = cli("--server", metrics, "cluster", "list", expect=1)
    assert "did not answer like a Simplismart API" in elsewhere.stderr
    credentials.write_text(json.dumps({"logins": []}))
    assert "not logged in" in cli("cluster", "list", expect=1).stderr
    assert json.loads(cli("-o", "json", "logout").stdout)["message"].startswith("Not logged in")

    # Prompted for both, from a pipe: the prompts go to stderr, stdout stays one JSON document.
    env = _environment(stack, tmp_path / "piped")
    del env["SIMPLISMART_PASSWORD"]
    piped = subprocess.run(
        [EXECUTABLE, "-o", "json", "login"],
        env=env,
        input=f"literal-developer\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["user"]["username"] == "literal-developer"
    assert "Password" in piped.stderr


def test_an_eviction_shows_in_the_queue_and_the_cluster(
    stack: dict[str, Any], kubeconfig: str, installation: Root, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    founder(api, installation, "cli-evictor")
    boss = _cli_for(stack, tmp_path / "boss")
    boss("login", "--username", "cli-evictor")
    namespace = _json(boss("-o", "json", "org", "create", "evictions"))["organization"]["namespace"]
    boss("cluster", "create", "tight", "--cpu", "2", "--ram", "2", "--gpu", "0")
    allow_preemption(kubeconfig, namespace, "tight")  # a kubectl setting

    def deploy(name: str, priority: str) -> None:
        boss(
            *("deploy", "create", name, "--cluster", "tight", "--cpu", "2", "--ram", "1"),
            *("--gpu", "0", "--image", "registry.example/m:1", "--duration", "120"),
            *("--priority", priority),
        )

    deploy("low", "low")
    wait_for(
        lambda: (
            _json(boss("-o", "json", "deploy", "show", "low"))["deployment"]["phase"] == "Running"
        ),
        timeout=30,
        what="the LOW run",
    )
    deploy("high", "high")

    def evicted() -> str | None:
        shown = _json(boss("-o", "json", "cluster", "show", "tight"))["cluster"]
        return "yes" if shown.get("last_preemption") else None

    wait_for(evicted, timeout=30, what="the eviction")
    shown = boss("cluster", "show", "tight").stdout
    assert "evicted low for high" in shown
    queue = boss("queue", "tight").stdout
    assert "preempted" in queue
    row = next(line for line in queue.splitlines() if " low " in line)
    assert row.rstrip(" │").endswith("1")
