"""Slack markup to plain text (https://api.slack.com/reference/surfaces/formatting)."""

from __future__ import annotations

import pytest

from app.errors import PermanentError
from app.events import Event
from connectors.slack.failures import person_message
from connectors.slack.markup import MAX_LOOKUPS, plain_text

USERS = {"U0GRACE": "grace", "W0ENT": "ent"}
CHANNELS = {"C0FEEDBACK": "product-feedback"}


class Lookups:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def user(self, ident: str) -> str | None:
        self.calls.append(ident)
        if ident not in USERS:
            raise PermanentError("slack: users.info: user_not_found")
        return USERS[ident]

    async def channel(self, ident: str) -> str | None:
        self.calls.append(ident)
        return CHANNELS.get(ident)


@pytest.mark.parametrize(("raw", "plain"), [
    ("<@U0GRACE> asked twice, <@U0GRACE>!", "@grace asked twice, @grace!"),
    ("<@U0GRACE|gracie> too", "@grace too"),
    ("from <#C0FEEDBACK|product-feedback>", "from #product-feedback"),
    ("from <#C0FEEDBACK>", "from #product-feedback"),
    ("<!here> and <!channel>", "@here and @channel"),
    ("<!subteam^S0DESIGN|@design> please", "@design please"),
    ("see <https://example.com/a?b=1&amp;c=2|the doc>", "see the doc (https://example.com/a?b=1&c=2)"),
    ("<https://example.com>", "https://example.com"),
    ("a &lt;b&gt; &amp; c", "a <b> & c"),
    ("<@U0NOBODY> is unknown", "@U0NOBODY is unknown"),
    ("<#C0GONE> is gone", "#C0GONE is gone"),
    ("<@W0ENT> on grid", "@ent on grid"),
    ("no markup at all", "no markup at all"),
])
async def test_markup_becomes_names(raw: str, plain: str) -> None:
    lookups = Lookups()
    assert await plain_text(raw, user_name=lookups.user, channel_name=lookups.channel) == plain


async def test_each_id_is_looked_up_once_and_lookups_are_bounded() -> None:
    lookups = Lookups()
    await plain_text("<@U0GRACE> <@U0GRACE> <#C0FEEDBACK> <#C0FEEDBACK>",
                     user_name=lookups.user, channel_name=lookups.channel)
    assert lookups.calls == ["U0GRACE", "C0FEEDBACK"]
    many = " ".join(f"<@U{i:05d}>" for i in range(MAX_LOOKUPS + 10))
    lookups = Lookups()
    out = await plain_text(many, user_name=lookups.user, channel_name=lookups.channel)
    assert len(lookups.calls) == MAX_LOOKUPS and out.count("@U") == MAX_LOOKUPS + 10


def test_the_person_hears_what_did_not_go_through() -> None:
    command = Event(source="slack", type="slack.command", dedupe_key="k",
                    data={"command": "/retro"})
    assert person_message(command, lead_told=True).startswith(
        "Sorry, your /retro did not go through")
    assert "The lead has been told" in person_message(command, lead_told=True)
    reaction = Event(source="slack", type="slack.event", dedupe_key="k2",
                     data={"type": "reaction_added", "reaction": "memo"})
    text = person_message(reaction, lead_told=False)
    assert text.startswith("Sorry, your :memo: reaction did not go through")
    assert "listed for the lead on the dashboard" in text
