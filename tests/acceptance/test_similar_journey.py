"""Similar feedback end to end: a rephrased request is linked to the original and both told.

Through the public routes only: signed /feedback commands, the Notion stand-in as a person
edits it, a signed Notion webhook. The model is the shipped one, on this machine.
"""

from __future__ import annotations

from typing import Any

import notion_client

from app.receivers.notion_poll import CURSORS, SNAPSHOTS
from tests.acceptance.test_journeys import (
    ADA,
    NOTION_WEBHOOK_TOKEN,
    SHIPPED,
    drained,
    notion_signal,
    pages_of,
    props,
    secrets_env,
    slack_messages,
    slash,
    until,
)

__all__ = ["secrets_env"]  # the fixture, used by name

ORIGINAL = "Export to CSV is slow for big workspaces #reporting"
REPHRASED = "Downloading a CSV export takes minutes when we have lots of data"
FRENCH = "L'export CSV est lent pour les gros espaces de travail"
UNRELATED = "Add a dark mode to the iPhone app"


def page_named(hub: Any, start: str) -> dict[str, Any]:
    [page] = [p for p in pages_of(hub, "Feedback") if props(p)["Name"].startswith(start)]
    return page


async def test_a_rephrased_request_is_linked_counted_and_everyone_told(
        hub_factory: Any, secrets_env: None) -> None:
    with hub_factory(SHIPPED,
                     notion_webhook_token=NOTION_WEBHOOK_TOKEN) as hub:
        sandbox = hub.app.state.notion_sandbox
        releases_ds = sandbox.data_source_by_title("Releases")["id"]

        async def baseline() -> Any:
            async with hub.store() as store:
                return await store.kv_get(CURSORS, releases_ds)

        await until(baseline, what="the Releases watcher's baseline")
        async with hub.client() as c:
            await slash(hub, c, "/feedback", ORIGINAL, user="U0ADA")
            await drained(hub)
            first = page_named(hub, "Export to CSV")
            [ada_told] = slack_messages(hub, "response")
            assert ada_told["text"].startswith("Saved to Notion:")  # nothing earlier: as before

            # Grace asks for the same thing in her words: linked, and she is told.
            await slash(hub, c, "/feedback", REPHRASED, user="U0GRACE")
            await drained(hub)
            second = page_named(hub, "Downloading a CSV")
            assert props(second)["Same as"] == [first["id"]]
            first = page_named(hub, "Export to CSV")
            assert props(first)["Demand"] == 2
            assert props(first)["Asked again in"] == [second["id"]]
            texts = [m["text"] for m in slack_messages(hub, "response")]
            assert texts[1].startswith("Saved to Notion:")
            assert texts[2] == (f"1 other asked for this: <{first['url']}|"
                                f"Export to CSV is slow for big workspaces>")

            # Ada again, in French: linked to the original, but she is one person: demand 2.
            await slash(hub, c, "/feedback", FRENCH, user="U0ADA")
            await drained(hub)
            third = page_named(hub, "L'export CSV")
            assert props(third)["Same as"] == [first["id"]]
            assert props(page_named(hub, "Export to CSV"))["Demand"] == 2
            assert slack_messages(hub, "response")[-1]["text"] == (
                f"1 other asked for this: <{first['url']}|"
                f"Export to CSV is slow for big workspaces>")

            # Something else, and wordless input: filed as before, no link, nothing said.
            before = len(slack_messages(hub, "response"))
            await slash(hub, c, "/feedback", UNRELATED, user="U0BOB")
            await slash(hub, c, "/feedback", "🚀🚀🚀", user="U0BOB")
            await drained(hub)
            assert props(page_named(hub, "Add a dark mode"))["Same as"] == []
            told = [m["text"] for m in slack_messages(hub, "response")[before:]]
            assert len(told) == 2 and all(t.startswith("Saved to Notion:") for t in told)

            # The original ships: Ada (who filed it) and Grace (who asked again) are told once.
            release = {"version": "3.1.0", "notes": "Fast CSV export", "date": "2026-12-01",
                       "link": "https://example.com/changelog/3.1.0"}
            r = await c.post("/hooks/releases", json=release, headers={
                "Authorization": "Bearer releases-hook-secret", "Idempotency-Key": "ci-31"})
            assert r.status_code == 202
            await drained(hub)
            [rel] = pages_of(hub, "Releases")
            await notion_signal(hub, c, "evt-created-31", rel["id"], releases_ds, "page.created")

            async def snapshot() -> Any:
                async with hub.store() as store:
                    return await store.kv_get(SNAPSHOTS, rel["id"])

            await until(snapshot, what="the watcher's snapshot of the release")
            async with notion_client.AsyncClient(
                    auth=f"person:{ADA}", base_url=f"{hub.url}/sandbox/notion") as person:
                await person.pages.update(page_id=first["id"], properties={
                    "Release": {"relation": [{"id": rel["id"]}]}})
                await person.pages.update(page_id=rel["id"], properties={
                    "Status": {"status": {"name": "Released"}}})
            await notion_signal(hub, c, "evt-released-31", rel["id"], releases_ds,
                                "page.properties_updated")

            async def grace_told() -> bool:
                return any("Downloading a CSV" in m["text"] for m in slack_messages(hub, "post"))

            try:
                await until(grace_told, what="Grace to be told the release shipped")
            except AssertionError:
                async with hub.client(headers=hub.admin) as a:
                    runs = (await a.get("/api/runs")).json()["runs"]
                raise AssertionError([(r["flow"], r["status"], r["error"]) for r in runs]) from None
            await drained(hub)
        # a post to a user id lands in the direct message with that person
        dms = sorted((m["channel"], m["text"]) for m in slack_messages(hub, "post")
                     if m["channel"][0] in "DU")
        assert [ch for ch, _ in dms] == ["D0ADA", "D0GRACE"], dms
        assert all(t.startswith("Shipped in 3.1.0:") for _, t in dms)
        assert "Downloading a CSV export" in dms[1][1]
        assert props(page_named(hub, "Downloading a CSV"))["Status"] == "Shipped"
        # The dashboard shows this week's links and the most asked-for item.
        async with hub.client(headers=hub.admin) as c:
            page = (await c.get("/")).text
        assert "Similar feedback" in page
        week = page.split('id="similar-')[-1]
        assert "<strong>2</strong>" in week.split("</span>")[0]
        assert "Export to CSV is slow for big workspaces</a></th><td class=\"num\">2</td>" in page


async def test_the_sandbox_demo_links_on_the_first_try(hub_factory: Any,
                                                       secrets_env: None) -> None:
    """A new user's first /feedback, said in their own words, finds the seeded item."""
    with hub_factory(SHIPPED, sandbox_demo_feedback=True) as hub:
        seeded = {props(p)["Name"] for p in pages_of(hub, "Feedback")}
        assert "Export to CSV is slow for big workspaces" in seeded and len(seeded) == 4
        original = page_named(hub, "Export to CSV")

        async def indexed() -> bool:
            async with hub.store() as store:
                from app.store.similar import SimilarItems

                return await SimilarItems(store.engines).get(
                    collection="feedback", item_id=original["id"]) is not None

        await until(indexed, what="the demo pages to be indexed")
        async with hub.client() as c:
            await slash(hub, c, "/feedback", "Downloading a CSV export takes minutes",
                        user="U0ADA")
            await drained(hub)
        assert props(page_named(hub, "Downloading a CSV"))["Same as"] == [original["id"]]
        assert slack_messages(hub, "response")[-1]["text"] == (
            f"1 other asked for this: <{original['url']}|Export to CSV is slow for big "
            f"workspaces>")
