"""The operator as a real process under test: start, stop, SIGKILL, restart."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType


class OperatorProcess:
    """``python -m simplismart.operator`` against the test cluster and Redis."""

    def __init__(self, kubeconfig: str, redis_url: str, log: Path, **env: str) -> None:
        self.log = log
        self.env = {
            **os.environ,
            "KUBECONFIG": kubeconfig,
            "SIMPLISMART_REDIS_URL": redis_url,
            "SIMPLISMART_STANDALONE": "true",
            # Long enough that tests see event-driven behaviour, not the safety net.
            "SIMPLISMART_RESYNC_SECONDS": "60",
            "SIMPLISMART_METRICS_PORT": "0",
            "SIMPLISMART_HEALTH_PORT": "0",
            "PYTHONSAFEPATH": "1",
            "MALLOC_ARENA_MAX": "2",  # as the image runs it (see Dockerfile)
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "OperatorProcess":
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simplismart.operator"],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up handler runs, as when a node dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __enter__(self) -> "OperatorProcess":
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
