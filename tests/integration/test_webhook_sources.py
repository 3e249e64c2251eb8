"""POST /hooks/{source} signed as each provider signs: accepted, deduplicated on the provider's
delivery id, refused when the signature is wrong or the timestamp stale; ``trigger.event``.

Each signer below follows the provider's own page (cited), not our code:
- GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
- GitLab: https://docs.gitlab.com/user/project/integrations/webhooks/ (X-Gitlab-Token)
- Linear: https://linear.app/developers/webhooks and https://linear.app/docs/api/sdk-webhooks
- Typeform: https://www.typeform.com/developers/webhooks/secure-your-webhooks/
- Stripe: https://docs.stripe.com/webhooks#verify-manually
- Shopify: https://shopify.dev/docs/apps/build/webhooks/subscribe/https
- Intercom: https://developers.intercom.com/docs/references/webhooks/webhook-models
- Zendesk: https://developer.zendesk.com/documentation/webhooks/verifying/
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

SECRET = "s3cr3t-from-the-provider-ui"
WRONG = "not-the-secret"


def _hex(secret: str, msg: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), msg, digest).hexdigest()


def _b64(secret: str, msg: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()


@dataclass
class Provider:
    scheme: str
    # (secret, body, delivery id, timestamp) -> headers
    sign: Callable[[str, bytes, str, float], dict[str, str]]
    # (delivery id, timestamp) -> body
    body: Callable[[str, float], dict[str, Any]]
    event: str
    stamped: bool  # whether the scheme signs a timestamp (a stale one must be refused)


PROVIDERS = {
    "github": Provider(
        "github",
        lambda s, b, d, t: {"X-Hub-Signature-256": "sha256=" + _hex(s, b),
                            "X-GitHub-Delivery": d, "X-GitHub-Event": "release"},
        lambda d, t: {"action": "published", "release": {"tag_name": "v1.2.0"}},
        "release", False),
    "gitlab": Provider(
        "gitlab",
        lambda s, b, d, t: {"X-Gitlab-Token": s, "X-Gitlab-Event-UUID": d,
                            "X-Gitlab-Event": "Push Hook"},
        lambda d, t: {"object_kind": "push", "ref": "refs/heads/main"},
        "Push Hook", False),
    "linear": Provider(
        "linear",
        lambda s, b, d, t: {"Linear-Signature": _hex(s, b), "Linear-Delivery": d,
                            "Linear-Event": "Issue"},
        lambda d, t: {"action": "update", "type": "Issue", "webhookTimestamp": int(t * 1000),
                      "data": {"id": "iss-1", "state": {"name": "Done"}}},
        "Issue", True),
    "typeform": Provider(
        "typeform",
        lambda s, b, d, t: {"Typeform-Signature": "sha256=" + _b64(s, b)},
        lambda d, t: {"event_id": d, "event_type": "form_response",
                      "form_response": {"form_id": "lT4Z3j", "answers": []}},
        "form_response", False),
    "stripe": Provider(
        "stripe",
        lambda s, b, d, t: {"Stripe-Signature":
                            f"t={int(t)},v1={_hex(s, str(int(t)).encode() + b'.' + b)}"},
        lambda d, t: {"id": d, "object": "event", "type": "invoice.paid"},
        "invoice.paid", True),
    "shopify": Provider(
        "shopify",
        lambda s, b, d, t: {"X-Shopify-Hmac-Sha256": _b64(s, b), "X-Shopify-Webhook-Id": d,
                            "X-Shopify-Topic": "orders/create"},
        lambda d, t: {"id": 820982911946154508, "email": "jon@example.com"},
        "orders/create", False),
    "intercom": Provider(
        "intercom",
        lambda s, b, d, t: {"X-Hub-Signature": "sha1=" + _hex(s, b, "sha1")},
        lambda d, t: {"type": "notification_event", "id": d,
                      "topic": "conversation_part.tag.created", "data": {"item": {}}},
        "conversation_part.tag.created", False),
    "zendesk": Provider(
        "zendesk",
        lambda s, b, d, t: _zendesk(s, b, d, t),
        lambda d, t: {"type": "zen:event-type:ticket.created", "id": "evt-" + d,
                      "detail": {"subject": "Printer on fire"}},
        "zen:event-type:ticket.created", True),
}


def _zendesk(secret: str, body: bytes, delivery: str, when: float) -> dict[str, str]:
    stamp = datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"X-Zendesk-Webhook-Signature": _b64(secret, stamp.encode() + body),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Invocation-Id": delivery}


def request(p: Provider, *, delivery: str, secret: str = SECRET,
            when: float | None = None) -> tuple[bytes, dict[str, str]]:
    when = time.time() if when is None else when
    body = json.dumps(p.body(delivery, when)).encode()
    return body, {"content-type": "application/json", **p.sign(secret, body, delivery, when)}


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, p in PROVIDERS.items():
        monkeypatch.setenv(f"PASSERELLE_WEBHOOK_SECRET_{name.upper()}", SECRET)
        monkeypatch.setenv(f"PASSERELLE_WEBHOOK_SCHEME_{name.upper()}", p.scheme)


async def _events(hub) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    async with hub.store() as store, store.engines.read.connect() as conn:
        rows = await conn.execute(sa.text("SELECT source, kind, dedupe_key FROM events"))
        return [dict(r._mapping) for r in rows]


@pytest.mark.parametrize("name", sorted(PROVIDERS))
async def test_provider_signature_dedupe_and_refusals(hub_factory, sources, name) -> None:
    p = PROVIDERS[name]
    with hub_factory({}) as hub:
        async with hub.client() as c:
            body, headers = request(p, delivery="d-1")
            ok = await c.post(f"/hooks/{name}", content=body, headers=headers)
            assert ok.status_code == 202, ok.text
            assert ok.json()["duplicate"] is False
            # The provider retries the same delivery (same id, signed again): one event.
            body, headers = request(p, delivery="d-1", when=time.time() + 1)
            again = await c.post(f"/hooks/{name}", content=body, headers=headers)
            assert again.status_code == 202 and again.json()["duplicate"] is True
            assert again.json()["event_id"] == ok.json()["event_id"]
            # Signed with another secret.
            body, headers = request(p, delivery="d-2", secret=WRONG)
            bad = await c.post(f"/hooks/{name}", content=body, headers=headers)
            assert bad.status_code == 401, bad.text
            assert SECRET not in bad.text
            # The right signature over a body changed on the way (GitLab signs nothing: its
            # token proves the sender, not the body, as its page says).
            body, headers = request(p, delivery="d-3")
            tampered = await c.post(f"/hooks/{name}", content=body.replace(b"}", b" }", 1),
                                    headers=headers)
            assert tampered.status_code == (202 if name == "gitlab" else 401)
            # No credentials at all.
            bare = await c.post(f"/hooks/{name}", content=body,
                                headers={"content-type": "application/json"})
            assert bare.status_code == 401
            if p.stamped:  # a delivery captured ten minutes ago and sent again
                body, headers = request(p, delivery="d-4", when=time.time() - 600)
                stale = await c.post(f"/hooks/{name}", content=body, headers=headers)
                assert stale.status_code == 401, stale.text
        events = await _events(hub)
    assert len(events) == (2 if name == "gitlab" else 1)
    assert events[0]["kind"] == p.event
    assert events[0]["dedupe_key"] == f"webhook:{name}:d-1"


async def test_shopify_without_scheme_is_a_bearer_source(hub_factory, monkeypatch) -> None:
    """Without PASSERELLE_WEBHOOK_SCHEME_<SOURCE> a plain secret is a bearer token: a
    provider signature alone is not enough."""
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_SHOP", SECRET)
    with hub_factory({}) as hub:
        async with hub.client() as c:
            body, headers = request(PROVIDERS["shopify"], delivery="x")
            r = await c.post("/hooks/shop", content=body, headers=headers)
            assert r.status_code == 401
            ok = await c.post("/hooks/shop", content=body, headers={
                "content-type": "application/json", "Authorization": f"Bearer {SECRET}"})
            assert ok.status_code == 202


async def test_unknown_scheme_and_empty_secret_accept_nothing(hub_factory, monkeypatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_TYPO", SECRET)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SCHEME_TYPO", "githb")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_BLANK", "  ")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SCHEME_BLANK", "bearer")
    with hub_factory({}) as hub:
        async with hub.client() as c:
            body, headers = request(PROVIDERS["github"], delivery="x")
            typo = await c.post("/hooks/typo", content=body, headers=headers)
            assert typo.status_code == 404
            assert "githb" in typo.json()["message"] and "github" in typo.json()["message"]
            blank = await c.post("/hooks/blank", content=b"{}", headers={
                "content-type": "application/json", "Authorization": "Bearer x"})
            assert blank.status_code == 404
        assert await _events(hub) == []


RELEASES = """
name: releases
on:
  webhook: {source: github, event: release}
steps:
  - id: echo
    use: http.request
    with:
      method: GET
      url: "{{ event.url }}"
      params:
        kind: "{{ trigger.event }}"
        tag: "{{ event.release.tag_name }}"
"""


async def test_webhook_trigger_filters_on_the_provider_event(hub_factory, sources) -> None:
    with hub_factory({"releases.yaml": RELEASES}) as hub:
        async with hub.client() as c:
            def signed(event: str, delivery: str) -> tuple[bytes, dict[str, str]]:
                body = json.dumps({"url": f"{hub.url}/healthz", "action": "published",
                                   "release": {"tag_name": "v2.0.0"}}).encode()
                return body, {"content-type": "application/json",
                              "X-Hub-Signature-256": "sha256=" + _hex(SECRET, body),
                              "X-GitHub-Delivery": delivery, "X-GitHub-Event": event}

            push = await c.post("/hooks/github", content=signed("push", "g-1")[0],
                                headers=signed("push", "g-1")[1])
            assert push.status_code == 202 and push.json()["runs"] == []
            body, headers = signed("release", "g-2")
            release = await c.post("/hooks/github", content=body, headers=headers)
            assert release.status_code == 202 and len(release.json()["runs"]) == 1
        run = await hub.wait_for_run(release.json()["runs"][0])
        assert run["status"] == "succeeded", run
        assert run["steps"][0]["input"]["params"] == {"kind": "release", "tag": "v2.0.0"}
        assert run["event"]["event"] == "release"


async def test_cookbook_typeform_nps_end_to_end(hub_factory, sources) -> None:
    """The cookbook's Typeform recipe, served, fed a signed Typeform delivery: a detractor's
    answer lands in the Notion stand-in's Feedback database; a promoter's runs nothing."""
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[2] / "flows" / "examples" / "typeform-nps.yaml"
    with hub_factory({"typeform-nps.yaml": recipe.read_text()}) as hub:
        async with hub.client() as c:
            def delivery(token: str, score: int) -> tuple[bytes, dict[str, str]]:
                body = json.dumps({"event_id": f"ev-{token}", "event_type": "form_response",
                                   "form_response": {"token": token, "answers": [
                                       {"type": "number", "number": score},
                                       {"type": "text", "text": "Search is slow"}]}}).encode()
                return body, {"content-type": "application/json",
                              "Typeform-Signature": "sha256=" + _b64(SECRET, body)}

            low = await c.post("/hooks/typeform", content=delivery("t1", 3)[0],
                               headers=delivery("t1", 3)[1])
            high = await c.post("/hooks/typeform", content=delivery("t2", 10)[0],
                                headers=delivery("t2", 10)[1])
            assert low.status_code == high.status_code == 202
            assert len(low.json()["runs"]) == 1 and high.json()["runs"] == []
        run = await hub.wait_for_run(low.json()["runs"][0])
        assert run["status"] == "succeeded", run
        page = run["steps"][0]["output"]
        assert page["title"] == "NPS 3: Search is slow"
        assert page["properties"]["Source"] == "Survey"


async def test_standard_dedupes_on_webhook_id_only_and_basic_auth(hub_factory,
                                                                  monkeypatch) -> None:
    """Standard Webhooks: the signed webhook-id is the key, an unsigned Idempotency-Key is
    not (anyone replaying a capture could change it). Basic: user:password."""
    from standardwebhooks.webhooks import Webhook

    whsec = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_SVIX", whsec)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FORMS", "hub:pa55word")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SCHEME_FORMS", "basic")

    def standard(msg_id: str, key: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"type": "user.created", "data": {}}).encode()
        now = datetime.now(UTC)
        return body, {"content-type": "application/json", "webhook-id": msg_id,
                      "webhook-timestamp": str(int(now.timestamp())), "Idempotency-Key": key,
                      "webhook-signature": Webhook(whsec).sign(msg_id, now, body.decode())}

    with hub_factory({}) as hub:
        async with hub.client() as c:
            first = await c.post("/hooks/svix", content=standard("m1", "a")[0],
                                 headers=standard("m1", "a")[1])
            same_id = await c.post("/hooks/svix", content=standard("m1", "b")[0],
                                   headers=standard("m1", "b")[1])
            same_key = await c.post("/hooks/svix", content=standard("m2", "a")[0],
                                    headers=standard("m2", "a")[1])
            assert first.json()["duplicate"] is False
            assert same_id.json()["duplicate"] is True
            assert same_key.json()["duplicate"] is False
            good = base64.b64encode(b"hub:pa55word").decode()
            ok = await c.post("/hooks/forms", json={"a": 1}, headers={
                "Authorization": f"Basic {good}", "Idempotency-Key": "f-1"})
            again = await c.post("/hooks/forms", json={"a": 1}, headers={
                "Authorization": f"Basic {good}", "Idempotency-Key": "f-1"})
            wrong = await c.post("/hooks/forms", json={"a": 1}, headers={
                "Authorization": "Basic " + base64.b64encode(b"hub:guess").decode()})
            assert ok.status_code == 202 and again.json()["duplicate"] is True
            assert wrong.status_code == 401
        kinds = sorted((e["source"], e["kind"] or "") for e in await _events(hub))
    assert kinds == [("forms", ""), ("svix", "user.created"), ("svix", "user.created")]
