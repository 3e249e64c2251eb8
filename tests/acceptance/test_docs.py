"""Documented steps are tests: every ```sh block of README.md and docs/*.md, run in page order.

Each page runs in a fresh copy of the project (its flows, docs and `.env.example`; never the
real working tree) against a hub served there by ``passerelle serve`` on a free port, as a new
user would after `make run`. Blocks call `.venv/bin/passerelle`, `passerelle` and `curl` as
written; the only rewrite is the documented address http://127.0.0.1:8000 → the test hub's
(and ``PASSERELLE_URL``/``PASSERELLE_SANDBOX_URL`` for commands that default to it). A block
that edits `.env` is followed by a restart, as the docs ask. Each block must exit 0, and where
the page promises an outcome (a Notion page, a Slack message), the test waits for it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.acceptance.docblocks import DOC_URL, ROOT, SKIP, Block, blocks, executable_pages, pages
from tests.acceptance.outside import Outside, until
from tests.conftest import free_port

BIN = Path(sys.executable).parent
# Settings a developer's shell may hold; a new user's clone starts without them.
OWN_PREFIXES = ("PASSERELLE_", "SLACK_", "NOTION_", "FEEDBACK_", "RETRO_", "RELEASES_", "DIGEST_")

Check = Callable[[Outside, str], Awaitable[None]]


def _page_named(title: str) -> Check:
    async def check(out: Outside, _stdout: str) -> None:
        async def found() -> bool:
            return any(p.get("Name") == title for p in await out.pages("Feedback"))
        await until(found, timeout=30, what=f"the Feedback page {title!r}")
    return check


def _slack(kind: str, fragment: str) -> Check:
    async def check(out: Outside, _stdout: str) -> None:
        async def found() -> bool:
            return any(fragment in m.get("text", "") for m in await out.slack(kind))
        await until(found, timeout=30, what=f"a Slack {kind} with {fragment!r}")
    return check


async def _accepted_once(_out: Outside, stdout: str) -> None:
    answer = json.loads(stdout)
    assert answer["duplicate"] is False and len(answer["runs"]) == 1, answer


async def _json_list(_out: Outside, stdout: str) -> None:
    assert isinstance(json.loads(stdout), list), stdout


# What the pages promise after a block, keyed by a piece of the block's text.
OUTCOMES: dict[str, list[Check]] = {
    'slack sign /feedback "Export to CSV is slow for big workspaces #reporting"': [
        _page_named("Export to CSV is slow for big workspaces"),
        _slack("response", "Saved to Notion: <")],
    "/hooks/feedback": [_accepted_once, _page_named("Cannot export invoices to PDF")],
    'slack sign /feedback "Export to CSV is slow #reporting" > try.sh': [
        _page_named("Export to CSV is slow"), _slack("response", "Saved to Notion: <")],
    "curl -s http://127.0.0.1:8000/sandbox/slack/messages": [_json_list],
    "passerelle run weekly-digest": [_slack("post", "Passerelle adoption — week 20")],
}


def clean_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", PASSERELLE_URL=url,
               PASSERELLE_SANDBOX_URL=url, PASSERELLE_LOG_FORMAT="text")
    return env


def fresh_project(tmp: Path) -> Path:
    """What a clone holds that the documented steps use; `.venv` is this test's environment."""
    project = tmp / "project"
    project.mkdir()
    for name in ("flows", "docs"):
        shutil.copytree(ROOT / name, project / name)
    for name in ("README.md", ".env.example", "Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)
    (project / ".venv").mkdir()
    (project / ".venv" / "bin").symlink_to(BIN, target_is_directory=True)
    return project


class ServedHub:
    """``passerelle serve`` in the project folder, on a free port (restartable)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = project / "serve.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "passerelle"), "serve", "--host", "127.0.0.1", "--port",
                 str(self.port)], cwd=self.project, env=clean_env(self.url),
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the hub did not start:\n" + self.log.read_text())
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as a person stops `make run`
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def _env_stamp(project: Path) -> tuple[int, int] | None:
    env = project / ".env"
    return (env.stat().st_mtime_ns, env.stat().st_size) if env.exists() else None


def test_every_block_runs_or_says_why() -> None:
    found = [b for p in pages() for b in blocks(p)]
    assert found, "no ```sh block found in README.md and docs/"
    for block in found:
        if block.text.lstrip("\n").startswith(SKIP):
            assert block.skip_reason, f"{block}: '{SKIP}' needs a reason"


def run_block(block: Block, hub: ServedHub) -> subprocess.CompletedProcess[str]:
    text = block.text.replace(DOC_URL, hub.url).replace("http://localhost:8000", hub.url)
    script = "set -eo pipefail\n" + text
    return subprocess.run(["bash", "-c", script], cwd=hub.project, env=clean_env(hub.url),
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize("page", executable_pages())
async def test_documented_steps_work_as_written(page: str, tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    hub = ServedHub(project)
    hub.start()
    ran: list[str] = []
    try:
        async with Outside(hub.url) as out:
            for block in blocks(ROOT / page):
                if block.skip_reason is not None:
                    continue
                before = _env_stamp(project)
                done = run_block(block, hub)
                assert done.returncode == 0, (
                    f"{block} exited {done.returncode}\n--- stdout\n{done.stdout}\n"
                    f"--- stderr\n{done.stderr}\n--- hub log\n{hub.log.read_text()[-3000:]}")
                if _env_stamp(project) != before:  # "then restart `make run`"
                    hub.stop()
                    hub.start()
                for fragment, checks in OUTCOMES.items():
                    if fragment in block.text:
                        for check in checks:
                            await check(out, done.stdout)
                ran.append(str(block))
    finally:
        hub.stop()
    assert ran, f"{page}: no block ran"


