"""slack.parse_form gives what dict(parse_qsl(..., keep_blank_values=True)) gives."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from app.receivers.slack import parse_form

# Text made of the characters that matter to form parsing, and of anything else.
_FORMISH = st.text(alphabet=st.sampled_from("ab=&%+;2F0éz \n") | st.characters(), max_size=60)


@given(_FORMISH)
def test_same_as_parse_qsl_on_any_text(text: str) -> None:
    assert parse_form(text) == dict(parse_qsl(text, keep_blank_values=True))


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=8))
def test_round_trips_what_urlencode_wrote(pairs: list[tuple[str, str]]) -> None:
    text = urlencode(pairs)
    assert parse_form(text) == dict(parse_qsl(text, keep_blank_values=True))


def test_a_slack_command() -> None:
    form = parse_form("command=%2Ffeedback&text=Export+is+slow+%23perf&token=&user_id=U1&x")
    assert form == {"command": "/feedback", "text": "Export is slow #perf", "token": "",
                    "user_id": "U1", "x": ""}
