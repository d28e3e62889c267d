"""What the command-line client prints of text it did not write, and the clock it counts on."""

import email.utils
import time
from collections.abc import Callable

import pytest

from simplismart.api.cli import output
from simplismart.api.cli.clock import ServerClock

pytestmark = pytest.mark.unit


def test_control_and_format_characters_are_shown_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Stored before the API refused them, or written with kubectl: never raw to a terminal.
    image = "r.example/img\x1b[31m\u202e:1"
    output.fields("deployment", {"image": image}, {"image": lambda item: item["image"]})
    shown = capsys.readouterr().out
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "r.example/img\\x1b[31m\\u202e:1" in shown


@pytest.mark.parametrize(
    "form",
    [
        lambda seconds: email.utils.formatdate(seconds, usegmt=True),  # IMF-fixdate
        lambda seconds: time.asctime(time.gmtime(seconds)),  # asctime: no zone, GMT all the same
        lambda seconds: email.utils.formatdate(seconds).replace("+0000", "-0000"),
    ],
)
def test_the_servers_clock_is_read_from_every_date_form_as_gmt(
    monkeypatch: pytest.MonkeyPatch, form: Callable[[float], str]
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # 5.5 h from GMT: a zone taken as local shows it
    time.tzset()
    try:
        server = ServerClock()
        ahead = time.time() + 600
        server.learn(form(ahead))
        assert abs(server.now() - (time.time() + 600)) <= 1.5
        server.learn("not a date")
        assert abs(server.now() - (time.time() + 600)) <= 1.5, "a header it cannot read is ignored"
    finally:
        monkeypatch.undo()
        time.tzset()
