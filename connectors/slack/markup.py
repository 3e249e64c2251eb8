"""Slack's message markup to plain text, with people and channels named.

Slack stores ``<@U0GRACE>`` for a mention, ``<#C0FEEDBACK|product-feedback>`` (or just
``<#C0FEEDBACK>``) for a channel, ``<!here>`` for a broadcast, ``<https://x|label>`` for a link,
and escapes ``&``, ``<`` and ``>`` as entities
(https://api.slack.com/reference/surfaces/formatting#retrieving-messages). Written as is into
Notion, a page reads "<@U0GRACE> asked for it". ``plain_text`` names people through
``users.info`` and channels through ``conversations.info`` (each answer cached by the caller),
and leaves an id as ``@U…``/``#C…`` when Slack does not know it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from app.errors import PermanentError

_TOKEN = re.compile(r"<([^<>]{1,500})>")
MAX_LOOKUPS = 50  # distinct ids resolved per text; the rest stay as ids

Lookup = Callable[[str], Awaitable[str | None]]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def plain_text(text: str, *, user_name: Lookup, channel_name: Lookup) -> str:
    """``text`` with Slack markup replaced by readable words."""
    names: dict[str, str] = {}
    lookups = 0

    async def name_of(kind: str, ident: str, label: str | None) -> str:
        nonlocal lookups
        key = f"{kind}{ident}"
        if key in names:
            return names[key]
        found: str | None = None
        if kind == "#" and label:
            found = label  # Slack sent the channel's name with its id
        elif lookups < MAX_LOOKUPS:
            lookups += 1
            try:
                found = await (user_name if kind == "@" else channel_name)(ident)
            except PermanentError:
                found = None  # unknown or not visible to the bot: keep the id
        names[key] = f"{kind}{found or label or ident}"
        return names[key]

    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        out.append(_unescape(text[last:match.start()]))
        last = match.end()
        body = match.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@") and target[1:2] in ("U", "W"):
            out.append(await name_of("@", target[1:], label or None))
        elif target.startswith("#") and target[1:2] == "C":
            out.append(await name_of("#", target[1:], label or None))
        elif target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            out.append(_unescape(label) if label else f"@{special}")
        elif label:
            out.append(f"{_unescape(label)} ({_unescape(target)})")
        else:
            out.append(_unescape(target))
    out.append(_unescape(text[last:]))
    return "".join(out)
