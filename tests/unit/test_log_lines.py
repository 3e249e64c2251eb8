"""logs.LineHandler: one write per loop turn, lines in the order they were made."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

from app.logs import JsonFormatter, LineHandler
from app.redact import Redactor


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _logger(stream: CountingStream) -> tuple[logging.Logger, LineHandler]:
    handler = LineHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor(["s3cret-value"])))
    log = logging.getLogger(f"test-lines-{id(stream)}")
    log.propagate = False
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    return log, handler


def _messages(stream: CountingStream) -> list[str]:
    return [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]


async def test_lines_of_one_loop_turn_go_out_in_one_write_in_order() -> None:
    stream = CountingStream()
    log, handler = _logger(stream)
    handler.attach(asyncio.get_running_loop())
    for i in range(5):
        log.info(f"line {i}", extra={"n": i, "token": "s3cret-value"})
    assert stream.writes == 0  # kept until the end of this turn
    await asyncio.sleep(0)
    assert stream.writes == 1
    assert _messages(stream) == [f"line {i}" for i in range(5)]
    assert "s3cret-value" not in stream.getvalue()

    # A line from another thread writes the kept lines first: order is kept.
    log.info("kept")
    thread = threading.Thread(target=lambda: log.info("from a thread"))
    thread.start()
    thread.join()
    assert _messages(stream)[-2:] == ["kept", "from a thread"]

    # Detached (as at shutdown): what is kept is written, then every line at once.
    log.info("last kept")
    handler.attach(None)
    log.info("direct")
    assert _messages(stream)[-2:] == ["last kept", "direct"]


def test_without_a_loop_each_line_is_written_at_once() -> None:
    stream = CountingStream()
    log, _ = _logger(stream)
    log.info("one")
    log.info("two")
    assert stream.writes == 2 and _messages(stream) == ["one", "two"]
