"""Over 10,000 hostile requests at the receivers: 0 answers ≥ 500, 0 rows from refusals (issue 15).

Three families, each drawn by hypothesis in batches: unsigned, mis-signed (wrong secret,
stale, tampered) and signed-but-malformed (a valid signature over JSON of the wrong shape: a
``view`` that is a string, ``message: 7``, a list as payload, ...), for every Slack route, the
webhook sources and Notion. The requests go through the app in-process (httpx's ASGI
transport, the same ASGI callable uvicorn serves), so ten thousand of them take seconds, not
minutes; test_bad_input.py covers the same routes over a real socket.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from harness import WHSEC, signed
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.settings import Settings

T = TypeVar("T")
BEARER = "fuzz-bearer-secret-51b0"
SLACK = "fuzz-slack-signing-c4e2"
NOTION = "fuzz-notion-webhook-8d13"
SECRETS = (BEARER, SLACK, NOTION, WHSEC.removeprefix("whsec_"))
TABLES = ("events", "runs", "event_duplicates", "run_steps")
COUNTS = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
PHASES = [p for p in Phase if p is not Phase.explain]
FORM = "application/x-www-form-urlencoded"
FLOWS = {
    "sink.yaml": """
name: sink
on:
  webhook: make
steps:
  - use: http.request
    with: {method: POST, url: "http://127.0.0.1:9/never", json: {x: "{{ event.x }}"}}
""",
    "events.yaml": """
name: reactions
on:
  slack.event: {type: reaction_added, reaction: memo, channel: C1}
steps:
  - use: slack.reply
    with: {text: "noted"}
""",
    "shortcut.yaml": """
name: save
on:
  slack.shortcut: {callback_id: save_it, name: Save}
steps:
  - use: slack.reply
    with: {text: "saved"}
""",
    "view.yaml": """
name: form
on:
  slack.view: {callback_id: the_form}
steps:
  - use: slack.reply
    with: {text: "{{ event['values'] }}"}
""",
}


class Hub:
    """The app on its own event loop in a thread, called in-process."""

    def __init__(self, tmp: Path) -> None:
        (tmp / "flows").mkdir()
        for name, text in FLOWS.items():
            (tmp / "flows" / name).write_text(text)
        self.db = tmp / "hub.db"
        settings_ = Settings(_env_file=None, database_url=f"sqlite:///{self.db}",  # type: ignore[call-arg]
                             flows=tmp / "flows", admin_token="fuzz-admin-0123456789",
                             max_body_bytes=8192, slack_signing_secret=SLACK,
                             notion_webhook_token=NOTION, log_format="text",
                             log_level="ERROR")
        self.app = create_app(settings_, worker=False)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._stop = asyncio.Event()
        self._started = threading.Event()
        self._life = asyncio.run_coroutine_threadsafe(self._lifespan(), self.loop)
        assert self._started.wait(30), "the app did not start"
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                        base_url="http://hub")
        self.sent = 0
        self._conn: sqlite3.Connection | None = None

    async def _lifespan(self) -> None:
        async with self.app.router.lifespan_context(self.app):
            self._started.set()
            await self._stop.wait()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.run(self.client.aclose())
        self.loop.call_soon_threadsafe(self._stop.set)
        self._life.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def counts(self) -> tuple[int, ...]:
        if self._conn is None:
            self._conn = sqlite3.connect(self.db, check_same_thread=False)
        row = self._conn.execute(COUNTS).fetchone()
        return tuple(row)

    def send_all(self, requests: list[tuple[str, bytes, dict[str, str]]],
                 expect: Callable[[str, int], bool]) -> None:
        """Send each request; check no 5xx, no secret echoed, no row from a refusal."""

        async def go() -> None:
            for path, body, headers in requests:
                before = self.counts()
                r = await self.client.post(path, content=body, headers=headers)
                self.sent += 1
                assert r.status_code < 500, (path, body[:300], r.status_code, r.text)
                assert not any(s in r.text for s in SECRETS)
                if r.status_code >= 300:
                    assert self.counts() == before, (path, r.status_code, "wrote rows")
                assert expect(path, r.status_code), (path, body[:300], r.status_code, r.text)

        self.run(go())


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", BEARER)
    mp.setenv("PASSERELLE_WEBHOOK_SECRET_SIGNED", WHSEC)
    h = Hub(tmp_path_factory.mktemp("fuzz-volume"))
    yield h
    h.close()
    mp.undo()


# ---- what goes in the bodies ------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
SLACK_KEYS = ["type", "user", "team", "channel", "message", "view", "callback_id",
              "trigger_id", "response_url", "state", "values", "id", "ts", "text", "item",
              "reaction", "event", "event_id", "authorizations", "subtype", "bot_id",
              "private_metadata", "selected_option", "selected_options", "actions", "team_id"]


def shaped(depth: int) -> st.SearchStrategy[Any]:
    """JSON whose keys are the ones the handlers read, with values of any shape."""
    if depth == 0:
        return ANY_JSON
    return st.one_of(ANY_JSON, st.dictionaries(st.sampled_from(SLACK_KEYS), shaped(depth - 1),
                                               max_size=5))


INTERACTION_TYPES = st.sampled_from(["shortcut", "message_action", "view_submission",
                                     "block_actions", "view_closed"])
VIEW = st.fixed_dictionaries({}, optional={
    "id": ANY_JSON, "callback_id": st.one_of(st.just("the_form"), ANY_JSON),
    "private_metadata": st.one_of(st.just('{"flow": "form"}'), ANY_JSON),
    "state": st.one_of(ANY_JSON, st.fixed_dictionaries({"values": st.one_of(
        ANY_JSON, st.dictionaries(st.text(max_size=4), st.one_of(ANY_JSON, st.dictionaries(
            st.text(max_size=4), st.one_of(ANY_JSON, st.fixed_dictionaries(
                {"type": st.sampled_from(["static_select", "checkboxes", "users_select",
                                          "plain_text_input", "datepicker"])},
                optional={"value": ANY_JSON, "selected_option": ANY_JSON,
                          "selected_options": ANY_JSON, "selected_user": ANY_JSON})),
            max_size=2)), max_size=2))})),
})
INTERACTION = st.one_of(
    ANY_JSON,  # a list, a number, a string as the payload
    shaped(3),
    st.fixed_dictionaries({"type": INTERACTION_TYPES}, optional={
        "callback_id": st.one_of(st.just("save_it"), ANY_JSON), "trigger_id": ANY_JSON,
        "team": st.one_of(st.just({"id": "T1", "domain": "d"}), ANY_JSON),
        "user": st.one_of(st.just({"id": "U1"}), ANY_JSON),
        "channel": st.one_of(st.just({"id": "C1"}), ANY_JSON),
        "message": st.one_of(st.just({"ts": "1.2", "text": "hi"}), ANY_JSON),
        "view": st.one_of(VIEW, ANY_JSON), "response_url": ANY_JSON}),
)
EVENT = st.one_of(
    ANY_JSON,
    shaped(3),
    st.fixed_dictionaries({"type": st.just("event_callback"),
                           "event_id": st.one_of(st.text(min_size=1, max_size=8), ANY_JSON)},
                          optional={
        "team_id": ANY_JSON, "authorizations": st.one_of(ANY_JSON, st.lists(shaped(1))),
        "event": st.one_of(ANY_JSON, st.fixed_dictionaries(
            {"type": st.sampled_from(["reaction_added", "message", "app_mention"])},
            optional={"user": ANY_JSON, "text": ANY_JSON, "channel": ANY_JSON,
                      "item": st.one_of(st.just({"channel": "C1", "ts": "1.2"}), ANY_JSON),
                      "reaction": st.one_of(st.just("memo"), ANY_JSON),
                      "subtype": st.one_of(st.just("message_changed"), ANY_JSON),
                      "message": ANY_JSON, "bot_id": ANY_JSON}))}),
)
COMMAND = st.dictionaries(st.sampled_from(["command", "text", "user_id", "trigger_id",
                                           "team_id", "channel_id", "ssl_check", "token"]),
                          st.text(max_size=10), max_size=6)


def slack_sign(body: bytes, secret: str = SLACK, age: int = 0) -> dict[str, str]:
    ts = str(int(time.time()) - age)
    sig = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={sig}"}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def slack_request(draw: st.DrawFn, signing: str) -> tuple[str, bytes, dict[str, str]]:
    route = draw(st.sampled_from(["/slack/commands", "/slack/events", "/slack/interactions"]))
    if route == "/slack/events":
        body, ctype = dumps(draw(EVENT)), "application/json"
    elif route == "/slack/interactions":
        body, ctype = urlencode({"payload": json.dumps(draw(INTERACTION))}).encode(), FORM
    else:
        form = draw(COMMAND)
        if signing != "signed":  # Slack's certificate check is answered unsigned, by design
            form.pop("ssl_check", None)
        if draw(st.booleans()):
            form["command"] = draw(st.sampled_from(["/feedback", "/x", ""]))
        body, ctype = urlencode(form).encode(), FORM
    headers = {"content-type": ctype}
    if signing == "signed":
        headers.update(slack_sign(body))
    elif signing == "mis-signed":
        headers.update(draw(st.sampled_from([
            slack_sign(body, "not-the-secret"), slack_sign(body, age=3600),
            slack_sign(body + b"x"), {"X-Slack-Signature": "v0=00"}])))
    return route, body, headers


@st.composite
def other_request(draw: st.DrawFn, signing: str) -> tuple[str, bytes, dict[str, str]]:
    """Webhook and Notion requests, unsigned or mis-signed (always refused)."""
    body = dumps(draw(shaped(2))) if draw(st.booleans()) else draw(st.binary(max_size=64))
    route = draw(st.sampled_from(["/hooks/make", "/hooks/signed", "/notion/webhooks"]))
    headers = {"content-type": "application/json"}
    if signing == "mis-signed":
        if route == "/hooks/make":
            headers["authorization"] = "Bearer not-it"
        elif route == "/hooks/signed":
            headers.update(signed(body + b" ", f"m{draw(st.integers(0, 10**9))}"))
        else:
            headers["x-notion-signature"] = "sha256=" + hmac.new(
                b"x", body, hashlib.sha256).hexdigest()
    elif route == "/notion/webhooks":  # unsigned: a "verification" that must not be taken
        body = dumps({"verification_token": draw(st.text(min_size=1, max_size=8))})
    return route, body, headers


def refused(path: str, status: int) -> bool:
    return status in (400, 401, 413, 415)


def not_5xx(path: str, status: int) -> bool:
    return status < 500


BATCH = 100
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck), "phases": PHASES,
            "database": None}


def _run(hub: Hub, strategy: st.SearchStrategy[Any], examples: int,
         expect: Callable[[str, int], bool]) -> int:
    sent_before = hub.sent

    @settings(max_examples=examples, **SETTINGS)
    @given(batch=st.lists(strategy, min_size=BATCH, max_size=BATCH))
    def inner(batch: list[tuple[str, bytes, dict[str, str]]]) -> None:
        hub.send_all(batch, expect)

    inner()
    return hub.sent - sent_before


@pytest.mark.slow
def test_signed_but_malformed_slack_payloads_are_400_never_500(hub: Hub) -> None:
    sent = _run(hub, slack_request("signed"), 50, not_5xx)
    assert sent >= 5000


@pytest.mark.slow
def test_mis_signed_slack_requests_are_refused(hub: Hub) -> None:
    sent = _run(hub, slack_request("mis-signed"), 20, refused)
    assert sent >= 2000


@pytest.mark.slow
def test_unsigned_requests_are_refused(hub: Hub) -> None:
    sent = _run(hub, st.one_of(slack_request("unsigned"), other_request("unsigned")), 20,
                refused)
    assert sent >= 2000


@pytest.mark.slow
def test_mis_signed_webhook_and_notion_requests_are_refused(hub: Hub) -> None:
    sent = _run(hub, other_request("mis-signed"), 10, refused)
    assert sent >= 1000
