"""The shipped flows as a team uses them: together, twice, empty, and after people edited.

Everything goes through the hub's public routes and the stand-ins' own routes (see
``outside.py``); the stand-ins keep their rate limits on, as Notion and Slack do.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.sandbox.notion_model import USERS
from tests.acceptance.outside import Outside, until
from tests.conftest import ADMIN_TOKEN
from tests.integration.slack_requests import (
    event_envelope,
    message_shortcut,
    post_signed,
    view_submission,
)

FLOWS = {p.name: p.read_text(encoding="utf-8")
         for p in (Path(__file__).resolve().parents[2] / "flows").glob("*.yaml")}
# Ada's Notion token in the stand-in: edits made with it are a person's edits.
ADA_NOTION = "person:" + next(u["id"] for u in USERS
                              if u.get("person", {}).get("email") == "ada@example.com")


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FEEDBACK", "feedback-secret")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_RELEASES", "releases-secret")


def hook(source: str, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {source}-secret", "Idempotency-Key": key}


async def test_retro_notes_sent_together_are_all_counted(hub_factory) -> None:
    # Five /retro notes and one "Add to retro" shortcut within the same second.
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            notes = [out.command("/retro", f"went well note number {i}", user=f"U0P{i}")
                     for i in range(5)]
            shortcut = out.interaction(message_shortcut(
                "add_to_retro", response_url=out.response_url(), channel="C0GENERAL",
                message={"type": "message", "ts": f"{time.time():.6f}", "user": "U0ADA",
                         "text": "Deploy blocked 2 hours by a flaky test"}))
            answers = await asyncio.gather(*notes, shortcut)
            assert all((a[0] if isinstance(a, tuple) else a).status_code == 200
                       for a in answers)
            runs = await out.settled(timeout=90)
            assert {r["status"] for r in runs} == {"succeeded"}, runs
            [retro] = await out.pages("Retros")
            bullets = [b for b in await out.blocks(retro["id"]) if b]
            assert len(bullets) == 6
            assert retro["Notes"] == 6  # what the page holds, not what each run read
            # The sprint page found by notes 2..6 is no double entry a person was spared.
            stats = await out.stats(weeks=1)
            assert stats["totals"]["total"]["duplicates_prevented"] == 0


async def test_empty_retro_note_is_refused_with_how_to(hub_factory) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            r, url = await out.command("/retro", "went well   ")
            assert r.status_code == 200
            [run] = await out.settled()
            assert run["status"] == "succeeded"
            assert run["error"].startswith("stopped at step empty: no note text")
            page = await out.http.get(f"/runs/{run['id']}",
                                      headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            assert page.status_code == 200
            assert "Why it stopped" in page.text and "no note text" in page.text
            [told] = await out.responses_to(url)
            assert told["response_type"] == "ephemeral"
            assert "/retro went well" in told["text"] and "Nothing was added" in told["text"]
            assert await out.pages("Retros") == []  # no sprint page, no empty bullet
            stats = await out.stats(weeks=1)
            assert stats["totals"]["total"]["skipped"] == 1
            assert stats["totals"]["total"]["succeeded"] == 0


async def test_empty_feedback_from_make_and_a_blank_form_save_nothing(hub_factory,
                                                                     hooks) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            # Make sends a survey answer whose text field is empty.
            r = await out.http.post("/hooks/feedback", headers=hook("feedback", "s-1"),
                                    json={"id": "S-1", "origin": "survey", "text": "  "})
            assert r.status_code == 202, r.text
            # /feedback alone opens the form; it comes back with only spaces in it.
            r, url = await out.command("/feedback", "")
            assert r.status_code == 200
            [modal] = await until(lambda: out.slack("modal"), what="the form")
            view = modal["view"]
            blocks = {b["block_id"]: b["element"]["action_id"] for b in view["blocks"]
                      if b.get("type") == "input"}
            values = {block: {action: {"type": "plain_text_input", "value": "   "}}
                      for block, action in blocks.items() if block == "summary"}
            r = await out.interaction(view_submission(view, values))
            # Slack shows the answer in the form itself, under the field, inside 3 seconds.
            assert r.json() == {"response_action": "errors",
                                "errors": {"summary": "Summary is required."}}
            # /feedback followed by only a hashtag has no words to save either.
            r, url = await out.command("/feedback", "#billing")
            runs = await out.settled()
            assert len(runs) == 2 and {r["status"] for r in runs} == {"succeeded"}
            reasons = sorted(r["error"] for r in runs)
            assert reasons[0].startswith("stopped at step empty: empty feedback")
            assert reasons[1].startswith("stopped at step empty: no feedback text")
            assert await out.pages("Feedback") == []
            [told] = await out.responses_to(url)
            assert "Nothing was saved" in told["text"] and "/feedback" in told["text"]


async def test_a_resent_release_changes_nothing_already_set(hub_factory, hooks) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            first = {"version": "3.1.0", "notes": "Faster exports", "date": "2026-11-20",
                     "link": "https://example.com/changelog/3.1.0"}
            r = await out.http.post("/hooks/releases", json=first,
                                    headers=hook("releases", "ci-1"))
            assert r.status_code == 202
            await out.settled()
            [rel] = await out.pages("Releases")
            assert (rel["Status"], rel["Date"], rel["Announced"]) == (
                "In progress", "2026-11-20", True)
            # The release manager marks it Released in Notion.
            async with out.notion(ADA_NOTION) as person:
                await person.pages.update(page_id=rel["id"], properties={
                    "Status": {"status": {"name": "Released"}}})
            # CI re-runs the job twice at once, sending the version only.
            again = [out.http.post("/hooks/releases", json={"version": "3.1.0"},
                                   headers=hook("releases", f"ci-rerun-{i}")) for i in (1, 2)]
            assert [r.status_code for r in await asyncio.gather(*again)] == [202, 202]
            runs = await out.settled()
            assert {r["status"] for r in runs} == {"succeeded"}
            [rel] = await out.pages("Releases")
            assert rel["Status"] == "Released"
            assert rel["Link"] == "https://example.com/changelog/3.1.0"
            assert rel["Date"] == "2026-11-20"
            announced = [m for m in await out.slack("post") if "3.1.0" in m.get("text", "")]
            assert len(announced) == 1


async def test_reaction_after_shortcut_keeps_what_the_first_save_and_people_set(
        hub_factory) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            text = "<@U0GRACE> heard from Acme in <#C0FEEDBACK|product-feedback>: SSO please"
            posted = await out.post_message("C0FEEDBACK", text)
            message = {"type": "message", "ts": posted["ts"], "user": "U0ADA", "text": text}
            r = await out.interaction(message_shortcut(
                "save_feedback", message=message, response_url=out.response_url(),
                user="U0GRACE"))
            assert r.status_code == 200
            await out.settled()
            [page] = await out.pages("Feedback")
            # Markup became names, looked up through the Slack API.
            assert page["Details"] == "@grace heard from Acme in #product-feedback: SSO please"
            assert "<@" not in page["Name"] and "<#" not in page["Name"]
            assert page["Reporter Slack ID"] == "U0GRACE"
            # A product manager triages it in Notion.
            async with out.notion(ADA_NOTION) as person:
                await person.pages.update(page_id=page["id"], properties={
                    "Name": {"title": [{"text": {"content": "SSO on the Team plan"}}]},
                    "Status": {"status": {"name": "Triaged"}}})
            # Ada then reacts 📝 to the same message.
            reaction = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                        "item_user": "U0ADA", "event_ts": f"{time.time():.6f}",
                        "item": {"type": "message", "channel": "C0FEEDBACK",
                                 "ts": posted["ts"]}}
            r = await post_signed(out.http, "/slack/events",
                                  event_envelope(reaction, event_id="Ev0REACT16"),
                                  "application/json")
            assert r.status_code == 200
            runs = await out.settled()
            assert {r["flow"] for r in runs} == {"feedback-shortcut", "feedback-reaction"}
            assert {r["status"] for r in runs} == {"succeeded"}
            [page] = await out.pages("Feedback")
            assert page["Reporter Slack ID"] == "U0GRACE"  # the first save's, not the reactor's
            assert (page["Name"], page["Status"]) == ("SSO on the Team plan", "Triaged")
            # The same message saved twice: one double entry a person was spared.
            stats = await out.stats(weeks=1)
            assert stats["totals"]["total"]["duplicates_prevented"] == 1


async def test_a_failed_slack_run_tells_the_person(hub_factory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The Feedback database id points at a database that does not exist.
    monkeypatch.setenv("NOTION_FEEDBACK_DB", "Feedbak")
    with hub_factory(FLOWS, failures_channel="C0GENERAL") as hub:
        async with Outside(hub.url) as out:
            r, url = await out.command("/feedback", "Dark mode please #ui")
            assert r.status_code == 200
            [run] = await out.settled()
            assert run["status"] == "failed"
            assert "Feedbak" in run["error"]
            [told] = await out.responses_to(url)
            assert told["response_type"] == "ephemeral"
            assert "did not go through" in told["text"]
            assert "lead has been told" in told["text"]
            lead = [m for m in await out.slack("post") if m["channel"] == "C0GENERAL"]
            assert len(lead) == 1 and run["id"] in lead[0]["text"]


