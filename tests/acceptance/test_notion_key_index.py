"""The key → page index as a team meets it: never two pages for one key, fewer requests.

Through the public routes (webhooks as Make or a support tool sends them) and the Notion
stand-in's own routes for what a person does in Notion, with the stand-in's limits on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import notion_client

from tests.acceptance.test_journeys import (
    ADA,
    SHIPPED,
    drained,
    pages_of,
    props,
    secrets_env,  # noqa: F401 - fixture
)

FEEDBACK = {"Authorization": "Bearer feedback-hook-secret"}


async def deliver(c: Any, delivery: str, **item: Any) -> None:
    r = await c.post("/hooks/feedback", headers={**FEEDBACK, "Idempotency-Key": delivery},
                     json={"origin": "zendesk", **item})
    assert r.status_code == 202, r.text


def person(hub: Any) -> notion_client.AsyncClient:
    return notion_client.AsyncClient(auth=f"person:{ADA}", base_url=f"{hub.url}/sandbox/notion")


async def test_one_key_sent_many_times_at_once_makes_one_page(hub_factory,
                                                              secrets_env) -> None:  # noqa: F811
    with hub_factory(SHIPPED, sandbox_rate_limits=True) as hub:
        async with hub.client() as c:
            await asyncio.gather(*[deliver(c, f"d{n}", id="T-7", text=f"Version {n}")
                                   for n in range(8)])
            await drained(hub)
        [page] = pages_of(hub, "Feedback")
        assert props(page)["External ID"] == "zendesk:T-7"
        assert hub.app.state.notion_sandbox.requests["create_page"] == 1


async def test_a_key_a_person_filed_first_and_a_page_a_person_trashed(
        hub_factory, secrets_env) -> None:  # noqa: F811
    with hub_factory(SHIPPED, sandbox_rate_limits=True) as hub:
        sandbox = hub.app.state.notion_sandbox
        source = sandbox.data_source_by_title("Feedback")["id"]
        async with person(hub) as ada:  # Ada filed the ticket by hand before the hub saw it
            await ada.pages.create(
                parent={"type": "data_source_id", "data_source_id": source}, properties={
                    "Name": {"title": [{"text": {"content": "Typed by Ada"}}]},
                    "External ID": {"rich_text": [{"text": {"content": "zendesk:T-1"}}]}})
        async with hub.client() as c:
            await deliver(c, "a", id="T-1", text="Invoices cannot be exported")
            await drained(hub)
            [page] = pages_of(hub, "Feedback")  # the hub's first scan found Ada's page
            assert props(page)["Name"] == "Invoices cannot be exported"
            async with person(hub) as ada:  # then she moves it to the trash
                await ada.pages.update(page_id=page["id"], in_trash=True)
            await deliver(c, "b", id="T-1", text="Invoices cannot be exported, again")
            await drained(hub)
        [again] = pages_of(hub, "Feedback")  # the index forgot the trashed page
        assert again["id"] != page["id"]
        assert props(again)["Name"] == "Invoices cannot be exported, again"
