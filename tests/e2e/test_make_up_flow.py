"""The original README's curl flow against the stack `make up` starts, then `make down`.

`hack/up.sh` is what `make up` runs after set-up; here it uses the session's API server (through
KUBECONFIG) and free ports, so it can run beside anything else on the machine.
"""

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness.kube import wait_for
from harness.ports import free_ports, port_is_free

pytestmark = pytest.mark.e2e

HACK = Path(__file__).parents[2] / "hack"


def test_original_flow_runs_deployments_to_success(stack: dict[str, Any]) -> None:
    api = httpx.Client(base_url=stack["url"], timeout=30)
    user = {"username": "vinay3", "password": "test1-long-enough"}
    assert api.post("/register", json=user).status_code == 201
    login = api.post("/login", json=user)
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    organization = api.post("/create_organization", headers=headers, json={"name": "org4"})
    assert organization.status_code == 201, organization.text
    code = organization.json()["organization"]["invite_code"]

    developer = {"username": "dev1", "password": "another-password"}
    developer_id = api.post("/register", json=developer).json()["user"]["id"]
    developer_token = api.post("/login", json=developer).json()["access_token"]
    developer_headers = {"Authorization": f"Bearer {developer_token}"}
    joined = api.post("/join_organization", headers=developer_headers, json={"invite_code": code})
    assert joined.status_code == 200, joined.text
    # A new member is a VIEWER until an ADMIN promotes it.
    assert api.post("/create_deployment", headers=developer_headers, json={}).status_code == 403
    promoted = api.post(
        "/update_role", headers=headers, json={"user_id": developer_id, "role": "DEVELOPER"}
    )
    assert promoted.status_code == 200, promoted.text

    cluster = api.post(
        "/create_cluster",
        headers=headers,
        json={"name": "cluser1", "total_cpu": 10, "total_ram": 10, "total_gpu": 10},
    )
    assert cluster.status_code == 201, cluster.text
    for index, priority in enumerate((1, 0, 1)):
        created = api.post(
            "/create_deployment",
            headers=developer_headers,
            json={
                "name": f"deployment{index + 1}",
                "ram": 2,
                "cpu": 5,
                "gpu": 2,
                "priority": priority,
                "cluster_name": "cluser1",
                "docker_path": "https://sampledockerpath/DockerFile",
                "duration_seconds": 2,
            },
        )
        assert created.status_code == 201, created.text

    def deployments() -> dict[str, dict[str, Any]]:
        listing = api.get("/deployments", headers=headers)
        assert listing.status_code == 200
        return {d["name"]: d for d in listing.json()["deployments"]}

    # Each runs 2 s: read that they ran from the finished ones, rather than poll for a Running
    # that a slow poll may miss.
    wait_for(
        lambda: {d["phase"] for d in deployments().values()} == {"Succeeded"},
        timeout=90,
        what="all three to succeed",
    )
    finished = deployments()
    assert sorted(finished) == ["deployment1", "deployment2", "deployment3"]
    runs = sorted((d["started_at"], d["finished_at"]) for d in finished.values())
    assert all(started < ended for started, ended in runs), runs


def test_down_leaves_no_process_and_frees_the_ports(stack: dict[str, Any], kubeconfig: str) -> None:
    subprocess.run([HACK / "down.sh"], env=stack["env"], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(port_is_free(p) for p in stack["ports"].values()):
        time.sleep(0.2)
    assert all(port_is_free(port) for port in stack["ports"].values())
    state = Path(stack["env"]["SIMPLISMART_STATE_DIR"])
    assert not state.exists()


def test_make_up_starts_its_own_control_plane_again_with_its_kubeconfig_exported(
    tmp_path: Path,
) -> None:
    """The summary of `make up` tells the user to export its kubeconfig; after `make down` (or a
    reboot) the next `make up` in that shell must start that control plane again, not use it."""
    state = tmp_path / "state"
    names = ("API", "API_METRICS", "REDIS", "METRICS", "HEALTH")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    kubeconfig = state / "cluster" / "kubeconfig"
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),  # as exported from an earlier `make up`, now gone
        "SIMPLISMART_STATE_DIR": str(state),
        **{f"SIMPLISMART_{name}_PORT": str(port) for name, port in ports.items()},
    }
    try:
        up = subprocess.run([HACK / "up.sh"], env=env, capture_output=True, text=True)
        assert up.returncode == 0, up.stderr[-3000:]
        assert httpx.get(f"http://127.0.0.1:{ports['API']}/healthz").status_code == 200
        crd = subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "get", "crd", "clusters.simplismart.io"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert crd.returncode == 0, crd.stderr
    finally:
        subprocess.run([HACK / "down.sh"], env=env, check=True)
    assert not state.exists()


def test_make_up_stops_when_the_operator_does_not_start(kubeconfig: str, tmp_path: Path) -> None:
    """It went on to print "Simplismart is up" with the operator gone (a port taken, a bad
    setting), and every deployment stayed Queued with no hint why."""
    state = tmp_path / "state"
    names = ("API", "API_METRICS", "REDIS", "METRICS", "HEALTH")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "SIMPLISMART_STATE_DIR": str(state),
        "SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS": "-1",
        **{f"SIMPLISMART_{name}_PORT": str(port) for name, port in ports.items()},
    }
    try:
        up = subprocess.run([HACK / "up.sh"], env=env, capture_output=True, text=True)
        assert up.returncode != 0
        assert "operator exited" in up.stderr
        assert "SIMPLISMART_SOLVER_TIME_LIMIT_SECONDS" in up.stderr  # the log's last lines
        assert "Simplismart is up" not in up.stderr
        assert port_is_free(ports["API"])  # nothing started after it
    finally:
        subprocess.run([HACK / "down.sh"], env=env, check=True)
    assert not state.exists()
