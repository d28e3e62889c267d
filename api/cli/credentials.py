"""Where ``simplismart login`` keeps tokens: one per server, in a file only the user can read."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simplismart.api.cli.client import CliError

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
        data = self._read()
        data["server"] = login.server
        data["logins"] = self._logins(data)
        data["logins"][login.server] = {
            "username": login.username,
            "token": login.token,
            "expires_at": login.expires_at,
        }
        self._write(data)

    def forget(self, server: str) -> bool:
        data = self._read()
        data["logins"] = self._logins(data)
        removed = data["logins"].pop(server, None) is not None
        if removed:
            self._write(data)
        return removed

    def _write(self, data: dict[str, Any]) -> None:
        try:
            self._replace(data)
        except OSError as error:
            raise CliError(f"cannot save the token in {self.path}: {error}") from None

    def _replace(self, data: dict[str, Any]) -> None:
        """Created 0600 from the start (no moment where others could read it), then renamed."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = self.path.with_suffix(".tmp")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(data, handle, indent=2)
        partial.replace(self.path)
