"""The built image, run for real without a Docker engine.

``buildah run --isolation chroot`` runs a command in a working container of the image, on the
host's network, as the image's user, with its environment and entry point. A read-only root is
something buildah's ``run`` cannot ask for, so ``read_only_command`` sets one up the way a
container runtime does: a private mount namespace, the container's root bound read-only, a tmpfs
on /tmp and the chosen writable directories, then ``chroot`` as the image's user.
"""

import json
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.support import HACK, run

# Image sizes as buildah and Docker print them (decimal megabytes).
MB = 1000 * 1000


@dataclass(frozen=True)
class Image:
    """What the image's configuration says: how to start it, as whom, with which environment."""

    name: str
    entrypoint: list[str]
    user: str
    env: dict[str, str]
    healthcheck: list[str]
    size: int

    @classmethod
    def build(cls) -> "Image":
        """``make image``'s script: builds, or finds the image built from the same inputs."""
        name = run(HACK / "image.sh", timeout=900).stdout.strip().splitlines()[-1]
        found = json.loads(run("buildah", "inspect", "--type", "image", name).stdout)
        config = found["Docker"]["config"]
        layers = json.loads(found["Manifest"])["layers"]
        return cls(
            name=name,
            entrypoint=config["Entrypoint"],
            user=config["User"],
            env=dict(item.split("=", 1) for item in config["Env"]),
            healthcheck=config["Healthcheck"]["Test"],
            # Layers in buildah's store are uncompressed: this is the size on disk.
            size=sum(layer["size"] for layer in layers),
        )

    @property
    def uid(self) -> int:
        return int(self.user.split(":")[0])


class Container:
    """A working container of the image; every ``command`` is one process in it."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.id = run("buildah", "from", "--pull=never", image.name).stdout.strip()

    def command(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        volumes: Mapping[Path, str] | None = None,
        entrypoint: Sequence[str] | None = None,
    ) -> list[str]:
        """``buildah run`` of the image's entry point (or ``entrypoint``) with ``args``; ``volumes``
        binds host paths into the container."""
        flags = ["--isolation", "chroot", "--network", "host"]
        flags += [f"--env={key}={value}" for key, value in (env or {}).items()]
        flags += [f"--volume={host}:{inside}" for host, inside in (volumes or {}).items()]
        start = list(self.image.entrypoint if entrypoint is None else entrypoint)
        return ["buildah", "run", *flags, self.id, "--", *start, *args]

    def read_only_command(
        self, *args: str, env: Mapping[str, str], writable: Mapping[Path, str]
    ) -> list[str]:
        """The image's entry point with ``args`` on a read-only root: only /tmp (a tmpfs) and the
        ``writable`` host directories (by path inside) can be written."""
        root = run("buildah", "mount", self.id).stdout.strip()
        binds = "".join(
            f'mount --bind {shlex.quote(str(host))} "$root"{shlex.quote(inside)}\n'
            for host, inside in writable.items()
        )
        environment = [f"{key}={value}" for key, value in {**self.image.env, **env}.items()]
        start = shlex.join(["env", "-i", *environment, *self.image.entrypoint, *args])
        script = (
            f"root={shlex.quote(root)}\n"
            'mount --bind "$root" "$root"\n'
            'mount -o remount,bind,ro "$root"\n'
            'mount -t proc proc "$root/proc"\n'
            'mount --rbind /dev "$root/dev"\n'
            'mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"\n'
            f"{binds}"
            f'exec chroot --userspec={shlex.quote(self.image.user)} "$root" {start}\n'
        )
        return ["unshare", "--mount", "--fork", "sh", "-ec", script]

    def remove(self) -> None:
        run("buildah", "rm", self.id, check=False)


class Process:
    """A long-running command (a server in the container), in its own session so that stopping
    it stops everything it started, whatever buildah or chroot put in between."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.popen = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def find(self, word: str) -> int:
        """The PID of the process of this session whose command line holds ``word``."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                session = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3])
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if session == self.popen.pid and word.encode() in words:
                return int(entry.name)
        raise AssertionError(f"no process with {word!r} in the session of {self.popen.pid}")

    def stop(self) -> None:
        """SIGTERM to the whole session, SIGKILL to whatever is left after a grace period."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=15)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
