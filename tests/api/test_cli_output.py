"""What the command-line client prints of text it did not write."""

import pytest

from simplismart.api.cli import output

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
