"""Where ``simplismart login`` keeps tokens: one per server, in a file only the user can read."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from simplismart.api.cli.client import CliError

#: Seconds to wait for another simplismart command to finish writing the file.
LOCK_TIMEOUT = 10.0

DEFAULT_SERVER = "http://localhost:5002"


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/simplismart``, else ``~/.config/simplismart``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "simplismart"


@dataclass(frozen=True, slots=True)
class Login:
    server: str
    username: str
    token: str
    expires_at: str


class Credentials:
    """The file ``credentials.json``: the last server logged in to, and a login per server."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "credentials.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def default_server(self) -> str:
        return str(self._read().get("server") or DEFAULT_SERVER)

    def _logins(self, data: dict[str, Any]) -> dict[str, Any]:
        logins = data.get("logins")
        return logins if isinstance(logins, dict) else {}

    def login_for(self, server: str) -> Login | None:
        """The saved login, or None when there is none (or the file was edited into another
        shape: logging in again rewrites it)."""
        found = self._logins(self._read()).get(server)
        if not isinstance(found, dict):
            return None
        username, token, expires_at = (found.get(k) for k in ("username", "token", "expires_at"))
        if not (
            isinstance(username, str) and isinstance(token, str) and isinstance(expires_at, str)
        ):
            return None
        return Login(server, username, token, expires_at)

    def save(self, login: Login) -> None:
        with self._changing() as data:
            data["server"] = login.server
            data["logins"] = self._logins(data)
            data["logins"][login.server] = {
                "username": login.username,
                "token": login.token,
                "expires_at": login.expires_at,
            }

    def forget(self, server: str) -> bool:
        if server not in self._logins(self._read()):
            return False  # nothing to change: not even the lock is taken (or its file made)
        with self._changing() as data:
            data["logins"] = self._logins(data)
            return data["logins"].pop(server, None) is not None

    @contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The file's data to change, read and written back under a lock: two commands at once
        (logins to two servers from two terminals) would each write back what they read, and
        the later would drop the earlier's token."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with FileLock(self.path.with_name(f"{self.path.name}.lock"), timeout=LOCK_TIMEOUT):
                data = self._read()
                yield data
                self._replace(data)
        except Timeout as error:
            raise CliError(
                f"another simplismart command has held {error.lock_file} for "
                f"{LOCK_TIMEOUT:.0f} s; try again"
            ) from None
        except OSError as error:
            raise CliError(f"cannot save the token in {self.path}: {error}") from None

    def _replace(self, data: dict[str, Any]) -> None:
        """Written to a file of its own, created 0600 (no moment where others could read it),
        then renamed over the old one: a reader sees the old file or the new, never half."""
        descriptor, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        partial = Path(name)
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(data, handle, indent=2)
            partial.replace(self.path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
