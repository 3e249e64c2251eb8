"""The dashboard in Debian's headless Chromium, driven by Playwright, against seeded runs.

Seeds real webhooks: the shipped feedback-webhook flow (Notion stand-in, one resent item that
updates its page instead of adding one, one repeated delivery) and a flow that fails for good.
Saves a screenshot of each page to test-artifacts/.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.integration.test_dashboard import BROKEN

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FEEDBACK_SECRET = "feedback-browser-secret-1"
BROKEN_SECRET = "broken-browser-secret-2"


@pytest.fixture
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("!!! CHROMIUM NOT FOUND: browser tests skipped; install Debian's chromium "
                    "(make browser-deps) !!!")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_all(base: str, run_ids: list[str]) -> dict[str, str]:
    deadline = time.monotonic() + 30
    statuses: dict[str, str] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        while True:
            statuses = {rid: c.get(f"/api/runs/{rid}").json()["status"] for rid in run_ids}
            if all(s in ("succeeded", "failed") for s in statuses.values()):
                return statuses
            if time.monotonic() > deadline:
                raise AssertionError(f"runs did not finish: {statuses}")
            time.sleep(0.1)


def seed(base: str) -> tuple[list[str], str]:
    """Four events (three feedback items, one broken call); returns feedback runs and the
    failed run."""
    fb = {"Authorization": f"Bearer {FEEDBACK_SECRET}"}
    items = [
        ("k1", {"id": "t1", "text": "Export to CSV is slow #reporting", "author": "ada@ex.com"}),
        ("k2", {"id": "t2", "text": "Dark mode please", "author": "bob@ex.com"}),
        # The same item sent again by the support tool: its page is updated, not duplicated.
        ("k3", {"id": "t1", "text": "Export to CSV is very slow #reporting",
                "author": "ada@ex.com"}),
    ]
    runs: list[str] = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for key, body in items:
            r = c.post("/hooks/feedback", json=body, headers={**fb, "Idempotency-Key": key})
            assert r.status_code == 202, r.text
            runs += r.json()["runs"]
            # One at a time: the resend must find the first page already there.
            wait_all(base, runs)
        repeat = c.post("/hooks/feedback", json=items[0][1],
                        headers={**fb, "Idempotency-Key": "k1"})
        assert repeat.json()["duplicate"] is True
        broken = c.post("/hooks/broken", json={"target": f"{base}/hooks/broken",
                                               "key": BROKEN_SECRET, "author": "carol@ex.com"},
                        headers={"Authorization": f"Bearer {BROKEN_SECRET}"})
        failed = broken.json()["runs"][0]
    statuses = wait_all(base, [*runs, failed])
    assert statuses[failed] == "failed"
    assert all(statuses[r] == "succeeded" for r in runs), statuses
    return runs, failed


def test_dashboard_in_a_real_browser(hub_factory, browser, monkeypatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FEEDBACK", FEEDBACK_SECRET)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_BROKEN", BROKEN_SECRET)
    ARTIFACTS.mkdir(exist_ok=True)
    flows = {"feedback-webhook.yaml": (REPO / "flows" / "feedback-webhook.yaml").read_text(),
             "broken.yaml": BROKEN}
    with hub_factory(flows) as hub:
        _, failed = seed(hub.url)
        page = browser.new_page(viewport={"width": 1366, "height": 900})  # a laptop screen

        page.goto(f"{hub.url}/")
        assert page.get_by_role("heading", name="Sign in to the dashboard").is_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-login.png"), full_page=True)

        page.goto(f"{hub.url}/?token={ADMIN_TOKEN}")
        assert page.url == f"{hub.url}/"  # the token left the address bar
        kpi = {key: page.locator(f"#kpi-{key}").inner_text()
               for key in ("events", "succeeded", "failed", "duplicates", "contributors")}
        assert kpi == {"events": "4", "succeeded": "3", "failed": "1", "duplicates": "2",
                       "contributors": "3"}
        assert page.locator("#kpi-median").inner_text().endswith("s")
        row = page.locator("#flow-feedback-webhook")
        assert row.get_by_role("img", name="Runs per week of feedback-webhook").is_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

        page.get_by_role("link", name="Runs", exact=True).click()
        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Filter").click()
        assert "status=failed" in page.url
        assert page.locator("tbody tr").count() == 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-runs.png"), full_page=True)

        page.locator(f'a[href="/runs/{failed}"]').click()
        assert "body must be a JSON object" in page.locator("#error-title + pre").inner_text()
        content = page.content()
        assert BROKEN_SECRET not in content and ADMIN_TOKEN not in content
        page.screenshot(path=str(ARTIFACTS / "dashboard-run-failed.png"), full_page=True)

        page.get_by_role("button", name="Replay this run").click()
        page.wait_for_load_state()
        assert page.url == f"{hub.url}/runs/{failed}?replayed=1", page.content()
        assert "Queued again" in page.locator("#replayed").inner_text()
        assert page.locator("#run-replays").inner_text() == "1"
        page.screenshot(path=str(ARTIFACTS / "dashboard-run-replayed.png"), full_page=True)

        page.get_by_role("link", name="Flows", exact=True).click()
        assert page.locator("#flow-broken").is_visible()
        assert "notion.upsert_page" in page.locator("#flow-feedback-webhook").inner_text()
        page.screenshot(path=str(ARTIFACTS / "dashboard-flows.png"), full_page=True)

        page.get_by_role("link", name="Sandbox", exact=True).click()
        notion = page.locator("section[aria-labelledby=notion-title]").inner_text()
        assert "Export to CSV is very slow" in notion and "Dark mode please" in notion
        page.screenshot(path=str(ARTIFACTS / "dashboard-sandbox.png"), full_page=True)
