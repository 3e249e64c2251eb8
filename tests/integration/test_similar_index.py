"""The similarity index on every store backend, through the ``similar`` actions.

The shipped model embeds for real (it is local and fast); the store is real SQLite and, when
reachable, PostgreSQL. Two connectors on one database stand for two worker processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from app.store import Store
from app.store.similar import SimilarItems
from connectors.base import ActionContext
from connectors.similar import SimilarConnector
from connectors.similar.connector import FindInput, IndexInput, LinkedInput

CTX = ActionContext(run_id="r", flow="f", step_id="s")
CSV = "Export to CSV is slow for big workspaces"
CSV_AGAIN = "Downloading a CSV export takes minutes when we have lots of data"
DARK = "Add a dark mode to the iPhone app"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = await Store.open(store_url)
    yield s
    await s.close()


def connector(store: Store, tmp_path: Path) -> SimilarConnector:
    settings = Settings(_env_file=None, database_url="sqlite://", flows=tmp_path)  # type: ignore[call-arg]
    return SimilarConnector(settings, index=SimilarItems(store.engines))


async def index(c: SimilarConnector, item: str, text: str, reporter: str = "",
                customer: str = "", link_to: str | None = None) -> dict[str, Any]:
    return await c.index_item(IndexInput(id=item, title=text[:40], url=f"https://n/{item}",
                                         text=text, reporter=reporter, customer=customer,
                                         notify=reporter, link_to=link_to), CTX)


async def find(c: SimilarConnector, text: str, **kw: Any) -> dict[str, Any]:
    return await c.find(FindInput(text=text, **kw), CTX)


async def test_a_rephrased_request_finds_the_earlier_one(store: Store, tmp_path: Path) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV, reporter="U1")
    await index(c, "p2", DARK, reporter="U2")
    found = await find(c, CSV_AGAIN)
    assert found["best"]["id"] == "p1" and found["best"]["url"] == "https://n/p1"
    assert [m["id"] for m in found["matches"]] == ["p1"]
    assert found["matches"][0]["score"] >= found["threshold"]
    # below the threshold: nothing
    assert (await find(c, "Support SAML single sign-on with Okta"))["best"] is None


async def test_demand_counts_distinct_reporters_and_customers(store: Store,
                                                              tmp_path: Path) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV, reporter="U1", customer="Acme")
    out = await index(c, "p2", CSV_AGAIN, reporter="U2", customer="Acme", link_to="p1")
    assert out == {"indexed": True, "id": "p2", "linked_to": "p1", "reporters": 2,
                   "customers": 1, "items": 2, "others": 1}
    # the same person again, and the same delivery retried: no more demand
    again = await index(c, "p3", "CSV exports are far too slow", reporter="U2", link_to="p1")
    assert (again["reporters"], again["items"]) == (2, 3)
    assert await index(c, "p3", "CSV exports are far too slow", reporter="U2",
                       link_to="p1") == again
    # a repeat of a repeat counts for the original
    chain = await index(c, "p4", "CSV export slow", reporter="U4", link_to="p3")
    assert chain["linked_to"] == "p1" and chain["reporters"] == 3
    best = (await find(c, CSV_AGAIN, exclude="p2"))["best"]
    assert best["id"] == "p1" and best["reporters"] == 3
    # when p1 ships: each person who asked again is told once, the original's reporter not
    linked = await c.linked(LinkedInput(ids=["p1"], skip_notify=["U1"]), CTX)
    assert [i["id"] for i in linked["items"]] == ["p2", "p3", "p4"]
    assert [(p["notify"], p["id"]) for p in linked["people"]] == [("U2", "p2"), ("U4", "p4")]
    assert (await c.linked(LinkedInput(ids=[]), CTX))["count"] == 0


async def test_a_second_process_sees_what_the_first_indexed(store: Store, tmp_path: Path) -> None:
    first, second = connector(store, tmp_path), connector(store, tmp_path)
    await index(first, "p1", DARK)
    assert (await find(second, "Please offer a dark theme on iOS"))["best"]["id"] == "p1"
    # re-indexed with other text: the other process's copy follows
    await index(first, "p1", CSV)
    assert (await find(second, CSV_AGAIN))["best"]["id"] == "p1"
    assert (await find(second, "Please offer a dark theme on iOS"))["best"] is None


@pytest.mark.parametrize("text", ["", "   ", "👍👍👍🚀", "?!", "ok", "🙂 " * 20_000])
async def test_wordless_input_is_no_error_and_no_link(store: Store, tmp_path: Path,
                                                      text: str) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV)
    found = await find(c, text)
    assert found["best"] is None and found["matches"] == []
    assert await index(c, "p9", text) == {"indexed": False, "id": "p9", "linked_to": None}
    assert (await find(c, CSV))["count"] == 1  # p9 was not added


async def test_huge_and_foreign_text_are_truncated_not_refused(store: Store,
                                                               tmp_path: Path) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV)
    huge = (CSV_AGAIN + " ") * 1000  # 65,000 characters: only the head is embedded
    assert (await find(c, huge))["best"]["id"] == "p1"
    for other in ("Bitte fügt einen Dunkelmodus hinzu", "請增加深色模式", "Добавьте тёмную тему"):
        assert (await find(c, other))["best"] is None


async def test_without_an_index_the_action_says_where_it_runs(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, flows=tmp_path)  # type: ignore[call-arg]
    from app.errors import PermanentError

    with pytest.raises(PermanentError, match="passerelle serve"):
        await find(SimilarConnector(settings), CSV)


async def test_kpis_count_links_per_week_and_demand_per_item(store: Store,
                                                             tmp_path: Path) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV, reporter="U1", customer="Acme")
    await index(c, "p2", CSV_AGAIN, reporter="U2", customer="Globex", link_to="p1")
    await index(c, "p3", "CSV exports are far too slow", reporter="U2", link_to="p1")
    await index(c, "p4", DARK, reporter="U3")
    from connectors.similar.connector import StatsInput

    doc = await c.stats(StatsInput(weeks=2, include_current=True), CTX)
    assert [w["linked"] for w in doc["weeks"]] == [0, 2]
    assert doc["top"] == [{"id": "p1", "title": CSV[:40], "url": "https://n/p1", "reporters": 2,
                           "customers": 2, "items": 3}]
    assert "2 new items linked" in doc["text"] and "2 people, 2 customers" in doc["text"]
    # the week that just ended had none
    assert (await c.stats(StatsInput(), CTX))["weeks"][-1]["linked"] == 0


async def test_unsigned_items_count_as_one_person_each(store: Store, tmp_path: Path) -> None:
    """A support ticket without an author is still somebody asking."""
    c = connector(store, tmp_path)
    await index(c, "p1", CSV)
    out = await index(c, "p2", CSV_AGAIN, link_to="p1")
    assert (out["reporters"], out["others"]) == (2, 1)
    again = await index(c, "p3", "CSV exports are far too slow", reporter="U7", link_to="p1")
    assert (again["reporters"], again["others"]) == (3, 2)
    from connectors.similar.connector import StatsInput

    [top] = (await c.stats(StatsInput(include_current=True), CTX))["top"]
    assert (top["id"], top["reporters"], top["items"]) == ("p1", 3, 3)


async def test_an_original_saved_again_is_not_linked_to_itself(store: Store,
                                                                tmp_path: Path) -> None:
    c = connector(store, tmp_path)
    await index(c, "p1", CSV, reporter="U1")
    await index(c, "p2", CSV_AGAIN, reporter="U2", link_to="p1")
    # p1 is saved again (same message, same page): its repeat p2 matches, whose original is p1
    found = await find(c, CSV, exclude="p1")
    assert [m["id"] for m in found["matches"]] == ["p2"] and found["best"] is None
