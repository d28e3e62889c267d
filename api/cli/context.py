"""What every command gets: the server, the output format and the stored logins."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer

from simplismart.api.cli import output
from simplismart.api.cli.client import Client, CliError
from simplismart.api.cli.credentials import Credentials
from simplismart.api.cli.output import Format


@dataclass
class Context:
    server: str
    output: Format
    credentials: Credentials

    @contextmanager
    def client(self, *, authenticated: bool = True) -> Iterator[Client]:
        login = self.credentials.login_for(self.server)
        if authenticated and login is None:
            raise CliError(f"not logged in to {self.server}: run simplismart login")
        client = Client(self.server, login.token if login and authenticated else None)
        try:
            yield client
        finally:
            client.close()

    def show(self, answer: dict[str, Any], render: Any) -> None:
        """The API's JSON as it came with ``--output json``; else ``render(answer)``."""
        if self.output is Format.JSON:
            output.print_json(answer)
        else:
            with self.reading():
                render(answer)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """An answer read in the shape of this CLI's API: a key missing, or a value of another
        type (another version of the API, or another server), is an error naming the server,
        not a traceback."""
        try:
            yield
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise CliError(
                f"{self.server} answered in a shape this CLI cannot read "
                f"({type(error).__name__}: {error}); is it a Simplismart API of this version?"
            ) from None


def context_of(ctx: typer.Context) -> Context:
    """The :class:`Context` the root command made from the global options."""
    found: Context = ctx.obj
    return found
