"""Structured JSON logs, one line per event, run and step, with secrets redacted."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys
import threading
from typing import Any, TextIO

from app.redact import Redactor, sensitive_key

_RECORD_FIELDS = vars(logging.LogRecord("", 0, "", 0, "", (), None))
# color_message: uvicorn's ANSI-coloured copy of its message.
_STANDARD = set(_RECORD_FIELDS) | {"message", "asctime", "color_message"}
_SCALARS = frozenset({str, int, float, bool, type(None)})
# A record's own attributes come first in its __dict__, then the ``extra`` fields.
_RECORD_ATTRS = len(_RECORD_FIELDS)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, redacted.

    Most lines (an event received, a step done) carry only ids and scalars. For those the
    redactor's text pass over the finished line is as thorough as walking the record, as long
    as JSON escaped nothing (no backslash in the line: every string appears verbatim) and no
    field has a sensitive name; such lines skip the walk. Any other line takes the full walk.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._second = -1
        self._stamp = ""
        self._plain_keys: dict[str, bool] = {}

    def _ts(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once per second, not once per line
            self._stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def _plain(self, key: str, value: Any) -> bool:
        if type(value) not in _SCALARS:
            return False
        plain = self._plain_keys.get(key)
        if plain is None:
            plain = self._plain_keys[key] = not sensitive_key(key)
        return plain

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self._ts(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        plain = True
        fields = record.__dict__
        # Only the keys after the record's own can be extra fields (skipping the ~25 others
        # was half of this method); a standard name among them (set later, by another
        # formatter) is still left out.
        for key in itertools.islice(fields, _RECORD_ATTRS, None):
            if key not in _STANDARD and not key.startswith("_"):
                value = fields[key]
                out[key] = value
                plain = plain and self._plain(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if plain:
            line = json.dumps(out)
            if "\\" not in line:
                return self.redactor.text(line)
        return self.redactor.text(json.dumps(self.redactor.value(out), default=str))


class TextFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        line = super().format(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return self.redactor.text(line)


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes formatted lines to a stream; the lines of one turn of the event loop in one write.

    Under load the loop logs a line per event, and a ``write`` system call per line cost
    about a sixth of each line. Lines made on the loop's thread (once ``attach`` was called
    there) are kept until the end of the loop's current turn (``call_soon``) and written
    together; a line from any other thread, or with no loop attached, writes what is kept
    first and then itself, so the order is kept. ``flush`` (also at shutdown) writes the rest.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._kept: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Keep lines made on the calling thread, which runs ``loop`` (None: stop keeping)."""
        self.flush()
        self._loop = loop
        self._loop_thread = threading.get_ident() if loop is not None else None

    def emit(self, record: logging.LogRecord) -> None:  # called under self.lock
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        loop = self._loop
        if (loop is not None and threading.get_ident() == self._loop_thread
                and not loop.is_closed()):
            if not self._kept:
                loop.call_soon(self.flush)
            self._kept.append(line)
            return
        self._kept.append(line)
        self._write_kept()

    def _write_kept(self) -> None:
        if not self._kept:
            return
        text = "\n".join(self._kept) + "\n"
        self._kept.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # as StreamHandler: a broken stderr must not break the caller
            self.handleError(logging.makeLogRecord({"msg": "log write failed"}))

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_kept()


def attach_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Let the root logger's line handlers write the lines of each loop turn together."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LineHandler):
            handler.attach(loop)


def setup(level: str, fmt: str, redactor: Redactor) -> None:
    handler = LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor))
    # Our lines carry neither source lines nor thread or process names: not collecting them
    # (the logging docs' own optimisation) saves a stack walk and lookups on every line.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "alembic", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Uvicorn's access log repeats every request; ours say what happened to it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
