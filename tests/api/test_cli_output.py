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


def test_a_title_from_the_server_is_escaped_and_long_names_are_folded_not_cut(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    name = "a-deployment-name-much-wider-than-its-column"
    output.table("created\x1b]0;title\x07", [{"name": name}], {"name": lambda d: d["name"]})
    shown = capsys.readouterr().out
    assert "\x1b" not in shown
    assert "created\\x1b]0;title\\x07" in shown
    assert "…" not in shown
    cells = [line.strip(" │") for line in shown.splitlines() if line.startswith("│")]
    assert len(cells) > 1, shown  # folded onto several lines
    assert "".join(cells) == name


@pytest.mark.parametrize(("passed", "words"), [("due now", "in the past"), ("ending", "now")])
def test_a_moment_passed_reads_as_what_happens_then_not_0s(passed: str, words: str) -> None:
    moment = time.time() - (60 if words == "in the past" else 0.4)
    shown = output.until(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment)), passed)
    assert shown == passed
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 125))
    assert output.until(ahead, passed) in ("2m 4s", "2m 5s", "2m 6s")
