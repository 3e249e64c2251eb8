"""Bad input at every route: never a 5xx, never a row for a refused request, never a secret.

Two generators: schemathesis, from the app's own OpenAPI schema (every operation but the
sandbox stand-ins, which are fakes of other services), and hypothesis strategies that build
what a schema cannot describe: raw bodies in wrong encodings, oversized bodies, wrong content
types, wrong, stale and replayed signatures, for the webhook, Slack and Notion receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from harness import WHSEC, free_port, signed
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.settings import Settings

ADMIN = "bad-input-admin-token-77f1c2"
BEARER = "bad-input-bearer-secret-4c1d"
SLACK = "bad-input-slack-signing-9e0b"
NOTION = "bad-input-notion-webhook-2a7f"
SECRETS = (ADMIN, BEARER, SLACK, NOTION, WHSEC, WHSEC.removeprefix("whsec_"))
LIMIT = 4096
# Hypothesis's "explain" phase re-parses test source and tripped a CPython 3.11.7 AST bug
# (SystemError) here; it only annotates failures, so it is left out.
PHASES = [p for p in Phase if p is not Phase.explain]
TABLES = ("events", "runs", "event_duplicates", "run_steps")
FLOW = """
name: sink
on:
  webhook: make
steps:
  - use: http.request
    with: {method: POST, url: "http://127.0.0.1:9/never", json: {x: "{{ event.x }}"}}
"""


def _settings(tmp: Path) -> Settings:
    (tmp / "flows").mkdir(exist_ok=True)
    (tmp / "flows" / "sink.yaml").write_text(FLOW)
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp}/hub.db",  # type: ignore[call-arg]
                    flows=tmp / "flows", admin_token=ADMIN, max_body_bytes=LIMIT,
                    slack_signing_secret=SLACK, notion_webhook_token=NOTION,
                    log_format="text")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One hub for the whole module, without a worker: rows stay where the request left them."""
    tmp = tmp_path_factory.mktemp("bad-input")
    mp = pytest.MonkeyPatch()
    mp.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", BEARER)
    mp.setenv("PASSERELLE_WEBHOOK_SECRET_SIGNED", WHSEC)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(_settings(tmp), worker=False),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        assert thread.is_alive()
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", tmp / "hub.db"
    srv.should_exit = True
    thread.join(timeout=20)
    mp.undo()


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def check(response: httpx.Response | object, before: dict[str, int], db: Path) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert status < 500, text
    for secret in SECRETS:
        assert secret not in text
    if status >= 300:
        assert counts(db) == before, f"a refused request ({status}) wrote rows"


# ---- schemathesis: every operation of the OpenAPI schema ----------------------------------

def _schema() -> dict:
    with warnings.catch_warnings():
        # The sandbox's Slack route is mounted for GET and POST under one operation id.
        warnings.simplefilter("ignore")
        spec = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    spec["paths"] = {p: v for p, v in spec["paths"].items() if not p.startswith("/sandbox/")}
    return spec


schema = schemathesis.openapi.from_dict(_schema())


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          phases=PHASES)
def test_every_operation_refuses_bad_input_cleanly(case, server) -> None:
    url, db = server
    for auth in ({}, {"Authorization": f"Bearer {ADMIN}"}):
        before = counts(db)
        response = case.call(base_url=url, headers=auth)
        check(response, before, db)


# ---- hypothesis: raw requests at the receivers ----------------------------------------------

JSON_OBJECTS = st.dictionaries(st.text(max_size=8), st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=30)), max_size=4)
BODIES = st.one_of(
    JSON_OBJECTS.map(lambda d: json.dumps(d).encode()),
    JSON_OBJECTS.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-16")),
    st.text(max_size=40).map(lambda s: json.dumps({"x": s}, ensure_ascii=False)
                             .encode("latin-1", errors="replace")),
    st.binary(max_size=300),
    st.just(b'{"x": "' + b"a" * (LIMIT + 10) + b'"}'),
    st.just(b"[1, 2, 3]"),
)
CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-"
                                 "urlencoded", "application/json; charset=utf-16"])
AUTH = st.sampled_from(["none", "wrong-bearer", "bearer", "hmac-wrong-secret", "hmac-stale",
                        "hmac-tampered", "hmac"])


def webhook_headers(kind: str, body: bytes, msg_id: str) -> tuple[str, dict[str, str]]:
    if kind == "none":
        return "make", {}
    if kind in ("bearer", "wrong-bearer"):
        return "make", {"Authorization": f"Bearer {BEARER if kind == 'bearer' else 'nope'}",
                        "Idempotency-Key": msg_id}
    if kind == "hmac-wrong-secret":
        return "signed", signed(body, msg_id, secret="whsec_" + "QUJDRA==" * 4)
    if kind == "hmac-tampered":
        return "signed", signed(body + b" ", msg_id)
    headers = signed(body, msg_id)
    if kind == "hmac-stale":
        headers["webhook-timestamp"] = str(int(time.time()) - 3600)
    return "signed", headers


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck),
          phases=PHASES)
@given(body=BODIES, ctype=CONTENT_TYPES, auth=AUTH, replay=st.booleans(),
       msg=st.integers(0, 10**9))
def test_webhook_receiver_under_malformed_requests(server, body, ctype, auth, replay,
                                                   msg) -> None:
    url, db = server
    source, headers = webhook_headers(auth, body, f"m-{msg}")
    if ctype:
        headers = {**headers, "content-type": ctype}
    with httpx.Client(base_url=url, timeout=10) as client:
        before = counts(db)
        r = client.post(f"/hooks/{source}", content=body, headers=headers)
        check(r, before, db)
        if auth in ("none", "wrong-bearer", "hmac-wrong-secret", "hmac-stale",
                    "hmac-tampered"):
            assert r.status_code in (401, 413), r.text  # auth comes before parsing here
        if r.status_code == 202 and replay:  # the same delivery again: no new event or run
            before = counts(db)
            again = client.post(f"/hooks/{source}", content=body, headers=headers)
            assert again.status_code == 202 and again.json()["duplicate"] is True
            after = counts(db)
            assert after["events"] == before["events"] and after["runs"] == before["runs"]


def slack_headers(body: bytes, kind: str) -> dict[str, str]:
    ts = str(int(time.time()) - (600 if kind == "stale" else 0))
    key = SLACK if kind != "wrong" else "not-the-secret"
    sig = "v0=" + hmac.new(key.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    if kind == "none":
        return {}
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck),
          phases=PHASES)
@given(route=st.sampled_from(["/slack/commands", "/slack/events", "/slack/interactions",
                              "/notion/webhooks"]),
       body=BODIES, ctype=CONTENT_TYPES, kind=st.sampled_from(["none", "wrong", "stale", "ok"]))
def test_slack_and_notion_receivers_under_malformed_requests(server, route, body, ctype,
                                                             kind) -> None:
    url, db = server
    if route.startswith("/notion"):
        sig = "sha256=" + hmac.new((NOTION if kind == "ok" else "x").encode(), body,
                                   hashlib.sha256).hexdigest()
        headers = {} if kind == "none" else {"X-Notion-Signature": sig}
    else:
        headers = slack_headers(body, kind)
    if ctype:
        headers["content-type"] = ctype
    before = counts(db)
    r = httpx.post(url + route, content=body, headers=headers, timeout=10)
    check(r, before, db)
    if kind in ("wrong", "stale") or (kind == "none" and not route.startswith("/notion")):
        # Refused; a body that cannot be parsed may be refused as such (400/415) first.
        assert r.status_code in (400, 401, 413, 415), (route, kind, r.status_code, r.text)
