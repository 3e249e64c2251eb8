"""The adoption KPIs against a scripted week whose true counts this test states.

A team's week is sent through the public routes (signed Slack requests, Make's webhooks, the
Slack stand-in's Web API), plus what the hub does by itself (the scheduler) and what the lead
does by hand on the CLI (`passerelle run`). The KPIs must count what people did, and only that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.engine.loader import load_flows
from app.engine.schedule import slot_event
from app.events import utcnow
from connectors.registry import all_actions
from tests.acceptance.outside import Outside
from tests.integration.slack_requests import event_envelope, message_shortcut, post_signed

ROOT = Path(__file__).resolve().parents[2]
FLOWS = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "flows").glob("*.yaml")}
BIN = Path(sys.executable).parent


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FEEDBACK", "feedback-secret")


async def test_a_scripted_week_gives_the_true_counts(hub_factory, hooks, tmp_path) -> None:
    with hub_factory(FLOWS) as hub:
        async with Outside(hub.url) as out:
            # 1. Ada files feedback with /feedback.                       event 1, person Ada
            r, _ = await out.command("/feedback", "Export to CSV is slow #reporting")
            assert r.status_code == 200
            # 2. Grace saves Lin's message with the shortcut.             event 2, person Grace
            posted = await out.post_message("C0FEEDBACK", "Acme asks for SSO #security")
            message = {"type": "message", "ts": posted["ts"], "user": "U0LIN",
                       "text": "Acme asks for SSO #security"}
            r = await out.interaction(message_shortcut(
                "save_feedback", message=message, response_url=out.response_url()))
            assert r.status_code == 200
            await out.settled()
            # 3. Ada reacts 📝 to the same message: the page exists.      event 3, +1 avoided
            reaction = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                        "item_user": "U0LIN", "event_ts": f"{time.time():.6f}",
                        "item": {"type": "message", "channel": "C0FEEDBACK",
                                 "ts": posted["ts"]}}
            body = event_envelope(reaction, event_id="Ev0WEEK1")
            r = await post_signed(out.http, "/slack/events", body, "application/json")
            assert r.status_code == 200
            # 4. Slack retries that delivery (no 200 seen in time).       +1 avoided
            r = await post_signed(out.http, "/slack/events", body, "application/json",
                                  headers={"X-Slack-Retry-Num": "1",
                                           "X-Slack-Retry-Reason": "http_timeout"})
            assert r.status_code == 200
            # 5. Make forwards ticket T-1, then sends the same delivery again.
            ticket = {"id": "T-1", "origin": "zendesk", "text": "Invoices lack the PO number",
                      "author": "sam@example.com"}
            auth = {"Authorization": "Bearer feedback-secret"}
            for key in ("d-1", "d-1"):                                 # event 4, +1 avoided
                r = await out.http.post("/hooks/feedback", json=ticket,
                                        headers={**auth, "Idempotency-Key": key})
                assert r.status_code == 202
            await out.settled()
            # 6. ... and the same ticket once more under a new delivery.  event 5, +1 avoided
            r = await out.http.post("/hooks/feedback", json=ticket,
                                    headers={**auth, "Idempotency-Key": "d-2"})
            assert r.status_code == 202
            # 7. Three retro notes from three people: the sprint page they share is found
            #    again each time, which spares nobody anything.          events 6-8, Lin
            for user in ("U0ADA", "U0GRACE", "U0LIN"):
                r, _ = await out.command("/retro", "went well the demo", user=user)
                assert r.status_code == 200
            # 8. An empty /retro: skipped, told how to use it.           event 9 (skipped)
            r, _ = await out.command("/retro", "", user="U0LIN")
            assert r.status_code == 200
            await out.settled()

            # 9. The scheduler's slot for the weekly digest, submitted by two workers (and
            #    again at each tick before the fix): one event, no double entry.   event 10
            flows = load_flows(hub.settings.flows, env=hub.settings.env, actions=all_actions())
            digest = flows.flows["weekly-digest"]
            async with hub.store() as store:
                for _ in range(3):
                    await store.ingest([(slot_event(digest, utcnow().replace(second=0,
                                                                             microsecond=0)),
                                         ["weekly-digest"])])
            # 10. The lead tries a flow on the CLI: not adoption.
            event_file = tmp_path / "try.json"
            event_file.write_text(json.dumps({"id": "TRY-1", "text": "a try #test",
                                              "author": "lead@example.com"}))
            env = {**os.environ, "PASSERELLE_DATABASE_URL": hub.settings.database_url,
                   "PASSERELLE_FLOWS": str(hub.settings.flows),
                   "PASSERELLE_SANDBOX_URL": hub.url, "PASSERELLE_LOG_LEVEL": "WARNING"}
            done = subprocess.run([str(BIN / "passerelle"), "run", "feedback-webhook",
                                   "--event", str(event_file)], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
            await out.settled()

            stats = await out.stats(weeks=2)  # two weeks: the script may cross a Monday
            total = stats["totals"]["total"]
            assert total["events"] == 10
            assert total["succeeded"] == 9 and total["skipped"] == 1
            assert total["failed"] == 0 and total["pending"] == 0
            assert total["duplicates_prevented"] == 4
            # Ada, Grace, Lin (retro notes), sam@ (the ticket); not the lead's CLI try.
            assert total["contributors"] == 4
            per_flow = {f["flow"]: f["total"] for f in stats["flows"]}
            assert per_flow["feedback-reaction"]["duplicates_prevented"] == 2
            assert per_flow["feedback-webhook"]["duplicates_prevented"] == 2
            assert per_flow["feedback-webhook"]["events"] == 2
            assert per_flow["retro-note"]["duplicates_prevented"] == 0
            assert (per_flow["retro-note"]["events"], per_flow["retro-note"]["skipped"]) == (4, 1)
            assert per_flow["weekly-digest"] == {**per_flow["weekly-digest"], "events": 1,
                                                 "duplicates_prevented": 0}
            assert per_flow["feedback-shortcut"]["duplicates_prevented"] == 0
