"""Every journey of the README's table, acted only as Slack, Notion, Make and CI would.

feedback, retros, releases and adoption: signed Slack requests, Make's and CI's webhooks,
people's edits through the Notion API with a person's token, Notion's signed webhooks, and the
lead's CLI. What is asserted is what people see: Notion pages and blocks through the Notion API,
Slack messages through ``GET /sandbox/slack/messages``, numbers through ``/api/stats``. The
stand-ins' rate limits are on, as Notion's and Slack's are.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.receivers.notion import signature
from app.receivers.notion_poll import SNAPSHOTS
from tests.acceptance.outside import Outside, until
from tests.integration.slack_requests import event_envelope, message_shortcut, post_signed

ROOT = Path(__file__).resolve().parents[2]
FLOWS = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "flows").glob("*.yaml")}
BIN = Path(sys.executable).parent
NOTION_WEBHOOK_TOKEN = "readme-journeys-notion-token"


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FEEDBACK", "feedback-secret")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_RELEASES", "releases-secret")


def cli(hub: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The lead's terminal, next to the running hub (same store and flows)."""
    env = {**os.environ, "PASSERELLE_DATABASE_URL": hub.settings.database_url,
           "PASSERELLE_FLOWS": str(hub.settings.flows), "PASSERELLE_SANDBOX_URL": hub.url,
           "PASSERELLE_URL": hub.url, "PASSERELLE_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(BIN / "passerelle"), *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def test_feedback_journey(hub_factory, hooks) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            # /feedback with text: a page, tags from hashtags, a private confirmation.
            r, url = await out.command("/feedback", "Export to CSV is slow #reporting")
            assert r.status_code == 200
            await out.settled()
            [page] = await out.pages("Feedback")
            assert (page["Name"], page["Tags"], page["Source"], page["Status"]) == (
                "Export to CSV is slow", ["reporting"], "Slack", "New")
            assert page["Reporter Slack ID"] == "U0ADA"
            [told] = await out.responses_to(url)
            assert told["text"].startswith("Saved to Notion: <")

            # A customer quote in a thread, saved twice by shortcut, then reacted to with 📝.
            text = "Acme wants SSO on the Team plan #security"
            posted = await out.post_message("C0FEEDBACK", text)
            message = {"type": "message", "ts": posted["ts"], "user": "U0ADA", "text": text}
            saves = [out.interaction(message_shortcut(
                "save_feedback", message=message, response_url=out.response_url()))
                for _ in range(2)]
            assert [r.status_code for r in await asyncio.gather(*saves)] == [200, 200]
            reaction = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                        "item_user": "U0ADA", "event_ts": f"{time.time():.6f}",
                        "item": {"type": "message", "channel": "C0FEEDBACK",
                                 "ts": posted["ts"]}}
            r = await post_signed(out.http, "/slack/events",
                                  event_envelope(reaction, event_id="Ev0README1"),
                                  "application/json")
            assert r.status_code == 200
            # A support ticket from Make, delivered twice under two delivery ids.
            ticket = {"id": "T-981", "origin": "zendesk", "title": "Cannot export invoices",
                      "text": "Customer cannot export invoices to PDF #billing",
                      "customer": "Globex", "channel": "Support"}
            sends = [out.http.post("/hooks/feedback", json=ticket, headers={
                "Authorization": "Bearer feedback-secret", "Idempotency-Key": key})
                for key in ("delivery-1", "delivery-2")]
            assert [r.status_code for r in await asyncio.gather(*sends)] == [202, 202]
            runs = await out.settled(timeout=90)
            assert {r["status"] for r in runs} == {"succeeded"}, runs
            pages = {p["Name"]: p for p in await out.pages("Feedback")}
            assert sorted(pages) == ["Acme wants SSO on the Team plan", "Cannot export invoices",
                                     "Export to CSV is slow"]
            sso = pages["Acme wants SSO on the Team plan"]
            assert sso["Reporter Slack ID"] == "U0GRACE"  # who saved it first
            assert sso["Link"] == ("https://slack.com/archives/C0FEEDBACK/p"
                                   + posted["ts"].replace(".", ""))
            assert pages["Cannot export invoices"]["Customer"] == "Globex"
            checks = [m for m in await out.slack("reaction") if m["ts"] == posted["ts"]]
            assert {m["name"] for m in checks} == {"white_check_mark"}
            total = (await out.stats(weeks=2))["totals"]["total"]
            # Saved a second time, reacted to once saved, the ticket's second delivery.
            assert total["duplicates_prevented"] == 3
            assert total["events"] == 6


async def test_retro_journey(hub_factory) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            r, first = await out.command("/retro", "went well the release train left on time")
            assert r.status_code == 200
            r, second = await out.command("/retro", "to improve: fewer meetings on Mondays",
                                          user="U0GRACE")
            assert r.status_code == 200
            r = await out.interaction(message_shortcut(
                "add_to_retro", response_url=out.response_url(), channel="C0GENERAL",
                message={"type": "message", "ts": f"{time.time():.6f}", "user": "U0GRACE",
                         "text": "Deploy blocked 2 hours by a flaky test\nlong story"}))
            assert r.status_code == 200
            runs = await out.settled(timeout=90)
            assert {r["status"] for r in runs} == {"succeeded"}, runs
            [page] = await out.pages("Retros")
            assert page["Sprint"].startswith("Sprint ") and page["Notes"] == 3
            assert page["Status"] == "Collecting"
            texts = sorted(await out.blocks(page["id"]))
            assert texts[0].startswith("From Slack: Deploy blocked 2 hours by a flaky test — "
                                       "@grace, saved by grace")
            assert texts[1:] == ["To improve: fewer meetings on Mondays — ada",
                                 "Went well: the release train left on time — ada"]
            for url, kind in ((first, "went well"), (second, "to improve")):
                [told] = await out.responses_to(url)
                assert told["text"].startswith(f"Added to the retro of {page['Sprint']} ({kind})")
            # The reminder before the meeting, run now by the lead.
            done = cli(hub, "run", "retro-reminder")
            assert done.returncode == 0, done.stderr
            [reminder] = [m for m in await out.slack("post") if m["channel"] == "C0RETRO"]
            assert f"Retro time: 3 note(s) collected for {page['Sprint']}" in reminder["text"]


async def notion_signal(out: Outside, event_id: str, page_id: str, source: str,
                        kind: str) -> None:
    """A signed Notion webhook event about one page, as Notion sends it."""
    body = json.dumps({
        "id": event_id, "timestamp": "2026-11-21T10:00:00.000Z", "type": kind,
        "entity": {"id": page_id, "type": "page"},
        "data": {"parent": {"id": source, "type": "data_source", "data_source_id": source}},
    }).encode()
    r = await out.http.post("/notion/webhooks", content=body, headers={
        "content-type": "application/json",
        "x-notion-signature": signature(NOTION_WEBHOOK_TOKEN, body)})
    assert r.status_code == 200, r.text


async def test_release_journey(hub_factory, hooks) -> None:
    with hub_factory(FLOWS, notion_webhook_token=NOTION_WEBHOOK_TOKEN) as hub:
        async with Outside(hub.url) as out:
            r, _ = await out.command("/feedback", "Bulk export of invoices please #billing")
            assert r.status_code == 200
            await out.settled()
            [feedback] = await out.pages("Feedback")
            # CI records the release, and its re-run sends it again at the same time.
            release = {"version": "2.4.0", "notes": "Bulk export of invoices\n- up to 10k rows",
                       "date": "2026-11-20", "link": "https://example.com/changelog/2.4.0"}
            sends = [out.http.post("/hooks/releases", json=release, headers={
                "Authorization": "Bearer releases-secret", "Idempotency-Key": key})
                for key in ("ci-1", "ci-2")]
            assert [r.status_code for r in await asyncio.gather(*sends)] == [202, 202]
            await out.settled()
            [rel] = await out.pages("Releases")
            assert rel["Announced"] is True and rel["Status"] == "In progress"
            announced = [m for m in await out.slack("post") if m["channel"] == "C0RELEASES"]
            assert len(announced) == 1 and announced[0]["text"].startswith("Release 2.4.0 is out")
            source = await out.data_source("Releases")
            await notion_signal(out, "evt-created-1", rel["id"], source, "page.created")

            # Not an action: only waiting, as a person would, until the hub has seen the page
            # as created (Notion's change events carry no old values; the hub diffs).
            async def seen() -> Any:
                async with hub.store() as store:
                    return await store.kv_get(SNAPSHOTS, rel["id"])

            await until(seen, what="the hub to have seen the new release page")
            # A product manager links the feedback and marks the release Released, in Notion;
            # Notion tells the hub.
            async with out.notion("person:" + await _ada(out)) as person:
                await person.pages.update(page_id=feedback["id"], properties={
                    "Release": {"relation": [{"id": rel["id"]}]}})
                await person.pages.update(page_id=rel["id"], properties={
                    "Status": {"status": {"name": "Released"}}})
            await notion_signal(out, "evt-released-1", rel["id"], source,
                                "page.properties_updated")

            async def shipped() -> bool:
                [fb] = await out.pages("Feedback")
                return fb["Status"] == "Shipped"

            await until(shipped, timeout=60, what="the feedback to be marked Shipped")
            runs = await out.settled()
            assert [r["status"] for r in runs if r["flow"] == "release-shipped"] == ["succeeded"]
            dms = [m for m in await out.slack("post") if m["channel"].startswith(("D", "U"))]
            assert len(dms) == 1 and "Shipped in 2.4.0" in dms[0]["text"]
            assert "Bulk export of invoices please" in dms[0]["text"]


async def _ada(out: Outside) -> str:
    async with out.notion() as n:
        users = await n.users.list()
    return str(next(u["id"] for u in users["results"]
                    if (u.get("person") or {}).get("email") == "ada@example.com"))


async def test_adoption_journey(hub_factory) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            for user in ("U0ADA", "U0GRACE"):
                r, _ = await out.command("/feedback", f"Dark mode please, says {user}",
                                         user=user)
                assert r.status_code == 200
            await out.settled()
            week = (await out.stats(weeks=1))["totals"]["weeks"][-1]
            assert (week["events"], week["contributors"], week["succeeded"]) == (2, 2, 2)
            # The lead reads the same numbers in the terminal...
            done = cli(hub, "stats", "--weeks", "1", "--json")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["totals"]["weeks"][-1]["events"] == 2
            # ... and posts the weekly digest now: it names the week it reports.
            done = cli(hub, "run", "weekly-digest")
            assert done.returncode == 0, done.stderr
            # The two asked for the same thing: when the second was linked to the first, the
            # digest adds a post of the most asked-for items (similar feedback, issue 21).
            posts = [m for m in await out.slack("post") if m["channel"] == "C0GENERAL"]
            [digest] = [m for m in posts if m["text"].startswith("*Passerelle adoption")]
            assert digest["text"].startswith("*Passerelle adoption — week 20")
            # The lead's run is not adoption: still two events this week.
            assert (await out.stats(weeks=1))["totals"]["weeks"][-1]["events"] == 2
