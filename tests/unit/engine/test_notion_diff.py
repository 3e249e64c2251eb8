"""Page vs snapshot → notion.page event, and how triggers match it (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from app.engine.triggers import NotionPageTrigger
from app.receivers.notion_diff import page_event, snapshot

BOT = "bot-user"
HUMAN = "human-user"


def page(status: str, *, by: str = HUMAN, edited: str = "2026-11-21T10:00:00.000Z") -> dict[
        str, Any]:
    return {
        "id": "p1", "url": "https://notion.so/p1", "last_edited_time": edited,
        "last_edited_by": {"object": "user", "id": by},
        "properties": {
            "Version": {"type": "title", "title": [{"plain_text": "2.4"}]},
            "Status": {"type": "status", "status": {"name": status}},
            "Edited": {"type": "last_edited_time", "last_edited_time": edited},
        },
    }


def event_for(new: dict[str, Any], old: dict[str, Any] | None) -> Any:
    return page_event(new, old=old, database_id="db", data_source_id="ds",
                      database_title="Releases", bot_user_id=BOT)


def trigger(**kw: Any) -> NotionPageTrigger:
    return NotionPageTrigger.model_validate({"database": "Releases", **kw})


def test_human_change_matches_changed_to_and_from() -> None:
    old = snapshot(page("In progress"))
    event = event_for(page("Released", edited="2026-11-21T10:05:00.000Z"), old)
    assert event.data["changes"] == {"Status": {"old": "In progress", "new": "Released"}}
    assert event.data["page"]["Status"] == "Released" and event.data["title"] == "2.4"
    assert event.data["by_passerelle"] is False and event.actor == HUMAN
    assert trigger(changed="Status", to="Released").matches(event, "f")
    assert trigger(changed="Status", **{"from": "In progress"}).matches(event, "f")
    assert not trigger(changed="Status", to="Planned").matches(event, "f")
    assert not trigger(created=True).matches(event, "f")


def test_own_change_is_ignored_unless_asked() -> None:
    event = event_for(page("Released", by=BOT), snapshot(page("Planned")))
    assert event.data["by_passerelle"] is True
    assert not trigger(changed="Status").matches(event, "f")
    assert trigger(changed="Status", include_own=True).matches(event, "f")


def test_only_edit_time_differs_is_no_event_and_keys_follow_the_snapshot() -> None:
    first = snapshot(page("Planned"))
    assert event_for(page("Planned", edited="2026-11-21T11:00:00.000Z"), first) is None
    a = event_for(page("Released"), first)
    again = event_for(page("Released"), first)
    assert a.dedupe_key == again.dedupe_key  # the same change read twice
    # Back and forth within one minute: same edit time, new snapshot sequence, new key.
    back = event_for(page("Planned"), snapshot(page("Released"), seq=1))
    forth = event_for(page("Released"), snapshot(page("Planned"), seq=2))
    assert len({a.dedupe_key, back.dedupe_key, forth.dedupe_key}) == 3
    created = event_for(page("Planned"), None)
    assert created.data["created"] is True and trigger(created=True).matches(created, "f")
