"""Known secrets never surface; event text with template syntax is kept and sent verbatim.

A real `serve` process runs flows whose outside API repeats credentials back (in a success
body, and in a 4xx error message). Afterwards the secrets must be in no log line, no answer of
the API or the dashboard, and no row of any table.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from harness import ADMIN, WHSEC, Proc, Recorder, base_env, free_port, signed

BOT = "xoxb-1111111111-2222222222-known-bot-token"
NOTION = "ntn_known_notion_token_0123456789abcdef"
SIGNING = "known-slack-signing-secret-77"
BEARER = "known-bearer-secret-for-make-31"
SECRETS = {"admin": ADMIN, "whsec": WHSEC, "whsec-key": WHSEC.removeprefix("whsec_"),
           "bot": BOT, "notion": NOTION, "signing": SIGNING, "bearer": BEARER}
INJECTION = "{{ 7*7 }} {% for x in range(3) %}{{ x }}{% endfor %} ${NOTION_TOKEN} {{ config }}"

FLOWS = {
    "signed.yaml": """
name: signed
on:
  webhook: load
steps:
  - id: call
    use: http.request
    with:
      url: "{url}/echo"
      sign: load
      json: {{text: "{{{{ event.text }}}}"}}
""",
    "denied.yaml": """
name: denied
on:
  webhook: make
steps:
  - id: call
    use: http.request
    with:
      url: "{url}/leak"
      json: {{text: "{{{{ event.text }}}}"}}
""",
}


def plan(_key: str, _n: int, path: str) -> str:
    return "leak" if path.startswith("/leak") else "echo"


@pytest.mark.slow
async def test_secrets_reach_no_log_answer_or_row(tmp_path: Path) -> None:
    recorder = Recorder(plan=plan, leak=BOT)
    api = recorder.start()
    (tmp_path / "flows").mkdir()
    for name, text in FLOWS.items():
        (tmp_path / "flows" / name).write_text(text.format(url=api))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "hub.db"
    env = base_env(tmp_path, f"sqlite:///{db}", SLACK_BOT_TOKEN=BOT, NOTION_TOKEN=NOTION,
                   SLACK_SIGNING_SECRET=SIGNING, PASSERELLE_WEBHOOK_SECRET_MAKE=BEARER,
                   PASSERELLE_LOG_LEVEL="DEBUG")
    hub = Proc(["serve", "--port", str(port)], env, tmp_path, "hub").start()
    answers: list[str] = []
    try:
        hub.wait_http(url)
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            body = json.dumps({"text": INJECTION}).encode()
            signed_r = await c.post("/hooks/load", content=body, headers=signed(body, "s-1"))
            bearer_r = await c.post("/hooks/make", content=body, headers={
                "Authorization": f"Bearer {BEARER}", "content-type": "application/json"})
            bad_r = await c.post("/hooks/make", content=body, headers={
                "Authorization": f"Bearer {BEARER}x", "content-type": "application/json"})
            assert (signed_r.status_code, bearer_r.status_code, bad_r.status_code) == (
                202, 202, 401)
            answers += [signed_r.text, bearer_r.text, bad_r.text]
            run_ids = signed_r.json()["runs"] + bearer_r.json()["runs"]
            admin = {"Authorization": f"Bearer {ADMIN}"}
            runs = {}
            async with asyncio.timeout(30):
                for run_id in run_ids:
                    while (r := await c.get(f"/api/runs/{run_id}", headers=admin)).json()[
                            "status"] not in ("succeeded", "failed"):
                        await asyncio.sleep(0.1)
                    runs[r.json()["flow"]] = r.json()
                    answers.append(r.text)
            for path in ("/api/runs", "/api/flows", "/api/stats", "/healthz", "/readyz",
                         "/metrics", "/", "/runs", "/flows", f"/runs/{run_ids[1]}"):
                r = await c.get(path, headers=admin)
                assert r.status_code < 500, (path, r.text)
                answers.append(r.text)
            login = await c.get(f"/?token={ADMIN}", follow_redirects=True)
            answers += [login.text, json.dumps(dict(login.headers))]
    finally:
        hub.term()
        recorder.stop()

    # The flows did meet the secrets: the API echoed them, and the signing used the key.
    assert sum(recorder.calls.values()) == 2 and recorder.answers == {"echo": 1, "leak": 1}
    assert runs["signed"]["status"] == "succeeded"
    assert runs["denied"]["status"] == "failed"
    assert "answered 400" in runs["denied"]["error"] and "[redacted]" in runs["denied"]["error"]
    # Template syntax in event data is data: stored, shown and forwarded verbatim.
    assert runs["signed"]["event"]["data"]["text"] == INJECTION
    assert runs["signed"]["steps"][0]["input"]["json"]["text"] == INJECTION
    assert {b["text"] for b in recorder.bodies.values()} == {INJECTION}
    with sqlite3.connect(db) as conn:
        rows = "\n".join(conn.iterdump())
        [stored] = conn.execute("SELECT data FROM events WHERE dedupe_key = "
                                "'webhook:load:s-1'").fetchone()
    assert json.loads(stored)["text"] == INJECTION

    logs = hub.logs()
    assert '"msg": "run failed"' in logs  # the logs did see the failure
    for name, secret in SECRETS.items():
        for where, text in (("logs", logs), ("answers", "\n".join(answers)), ("tables", rows)):
            assert secret not in text, f"{name} secret found in {where}"
