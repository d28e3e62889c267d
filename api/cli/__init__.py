"""``simplismart``: the command-line client of the API.

It speaks HTTP to a running API only (an import-linter contract keeps the server's modules out),
so it works against any installation, and keeps the login token in the user's config directory.
"""

from simplismart.api.cli.app import app, run

main = run

__all__ = ["app", "main"]
