"""The command-line client's reading of the event stream's refusals."""

import httpx
import pytest

from simplismart.api.cli.client import Client, CliError

pytestmark = pytest.mark.unit


def _client(status: int) -> Client:
    client = Client("http://api.invalid", "token")
    body = {"message": f"answered {status}", "errors": []}
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, json=body))
    client._http = httpx.Client(base_url=client.server, transport=transport)
    return client


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_api_is_a_broken_stream_to_reconnect_to(status: int) -> None:
    with pytest.raises(ConnectionError, match=f"answered {status}"):
        list(_client(status).events(None))


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_that_waiting_cannot_cure_ends_the_watch(status: int) -> None:
    with pytest.raises(CliError, match=f"answered {status}"):
        list(_client(status).events(None))
