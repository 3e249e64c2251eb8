"""Structured JSON logs: one line per run, step and refused request (and, at DEBUG, per
event), with ids, and no secret."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from app.logs import setup
from app.redact import Redactor

SECRET = "logsecret-7f3a9c2e51"
FLOWS = {
    "ok.yaml": """
name: ok
on:
  webhook: logs
if: "event.kind == 'ok'"
steps:
  - id: ping
    use: http.request
    with:
      method: GET
      url: "{{ event.base }}/healthz"
""",
    # The hub answers 404 with the unknown source's name, here the secret: the error text
    # that the run, the step and their log lines carry holds it, and must not show it.
    "leaky.yaml": """
name: leaky
on:
  webhook: logs
if: "event.kind == 'leaky'"
steps:
  - id: call
    use: http.request
    with:
      url: "{{ event.base }}/hooks/x-{{ event.key }}"
      json: {}
""",
}


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """Route the process's logs through the production JSON set-up into a buffer (at INFO,
    or the level given by indirect parametrisation)."""
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_LOGS", SECRET)
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.setattr(sys, "stderr", buffer)
    from app.settings import Settings

    setup(getattr(request, "param", "INFO"), "json",
          Redactor(Settings(_env_file=None).secret_values()))
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def post_both(hub_factory) -> tuple[dict, dict, dict, dict]:
    with hub_factory(FLOWS) as hub:
        async with hub.client() as c:
            auth = {"Authorization": f"Bearer {SECRET}"}
            ok = (await c.post("/hooks/logs", json={"kind": "ok", "base": hub.url},
                               headers=auth)).json()
            leaky = (await c.post("/hooks/logs", json={"kind": "leaky", "base": hub.url,
                                                        "key": SECRET}, headers=auth)).json()
        ok_run = await hub.wait_for_run(ok["runs"][0])
        leaky_run = await hub.wait_for_run(leaky["runs"][0])
    assert (ok_run["status"], leaky_run["status"]) == ("succeeded", "failed")
    return ok, leaky, ok_run, leaky_run


def json_lines(buffer: io.StringIO) -> list[dict]:
    text = buffer.getvalue()
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    return lines


async def test_one_json_line_per_run_step_and_refusal(hub_factory, json_logs) -> None:
    ok, leaky, ok_run, leaky_run = await post_both(hub_factory)
    lines = json_lines(json_logs)
    assert not [line for line in lines if line["msg"] == "event received"]  # DEBUG only
    # The leaky step's request was refused (unknown source): the line says why, redacted.
    (refused,) = [line for line in lines if line["msg"] == "request refused"]
    assert (refused["status"], refused["error"], refused["level"]) == (404, "not_found", "info")
    assert "[redacted]" in refused["path"] and "[redacted]" in refused["reason"]

    def about(run_id: str, msg: str) -> list[dict]:
        return [line for line in lines if line.get("run_id") == run_id and line["msg"] == msg]

    (done,) = about(ok_run["id"], "run succeeded")
    assert done["event_id"] == ok["event_id"] and done["flow"] == "ok"
    (step,) = about(ok_run["id"], "step succeeded")
    assert (step["step"], step["action"], step["event_id"]) == ("ping", "http.request",
                                                                ok["event_id"])

    (failed,) = about(leaky_run["id"], "run failed")
    assert failed["event_id"] == leaky["event_id"] and failed["level"] == "error"
    (bad_step,) = about(leaky_run["id"], "step failed")
    assert bad_step["step"] == "call" and "answered 404" in bad_step["error"]
    assert "[redacted]" in bad_step["error"]


@pytest.mark.parametrize("json_logs", ["DEBUG"], indirect=True)
async def test_at_debug_every_accepted_event_has_its_line(hub_factory, json_logs) -> None:
    ok, leaky, _, _ = await post_both(hub_factory)
    events = {line["event_id"]: line for line in json_lines(json_logs)
              if line["msg"] == "event received"}
    assert {ok["event_id"], leaky["event_id"]} <= set(events)
    assert (events[ok["event_id"]]["source"], events[ok["event_id"]]["runs"]) == ("logs", 1)
