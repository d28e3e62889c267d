"""A control plane of a test's own, whose API server the test may kill and start again."""

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

HACK = Path(__file__).resolve().parents[3] / "hack"


class ControlPlane:
    """hack/cluster-up.sh into ``state``, with the project's CRDs; torn down on exit.

    The session's API server is shared by every test, so a test that takes an API server away
    needs this one.
    """

    def __init__(self, state: Path) -> None:
        self.state = state
        self.kubeconfig = ""
        self._api_server_args: list[str] = []
        self._restarts = 0

    def __enter__(self) -> "ControlPlane":
        self.kubeconfig = hack("cluster-up.sh", self.state)
        hack("apply-crds.sh", self.kubeconfig)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        subprocess.run([HACK / "cluster-down.sh", self.state], check=True)

    def kill_api_server(self) -> None:
        """SIGKILL, as when its node dies: no connection is closed cleanly."""
        pid = self._pids()["kube-apiserver"]
        self._api_server_args = Path(f"/proc/{pid}/cmdline").read_text().split("\0")[:-1]
        os.kill(pid, signal.SIGKILL)
        while "zombie" not in _state(pid):  # gone counts as reaped
            time.sleep(0.05)

    def start_api_server(self, timeout: float = 90.0) -> None:
        """The same API server again (same port, certificates and etcd), once it is ready."""
        self._restarts += 1
        log = self.state / "logs" / f"kube-apiserver.{self._restarts}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                self._api_server_args, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        pids = self._pids() | {"kube-apiserver": process.pid}
        # cluster-down.sh stops what this file names.
        (self.state / "pids").write_text("".join(f"{n} {p}\n" for n, p in pids.items()))
        deadline = time.monotonic() + timeout
        ready = ["kubectl", f"--kubeconfig={self.kubeconfig}", "get", "--raw=/readyz"]
        while subprocess.run(ready, capture_output=True).returncode != 0:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"the API server is not ready after {timeout}s"
            time.sleep(0.5)

    def _pids(self) -> dict[str, int]:
        lines = (self.state / "pids").read_text().split("\n")
        return {name: int(pid) for name, pid in (line.split() for line in lines if line)}


def hack(script: str, *args: str | Path) -> str:
    """Run a hack/ script; its progress goes to the terminal, its answer is the last stdout line."""
    command = [str(HACK / script), *map(str, args)]
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (FileNotFoundError, IndexError):
        return "zombie"
