"""Structured JSON logs, one line per event, run and step, with secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from app.redact import Redactor, sensitive_key

# color_message: uvicorn's ANSI-coloured copy of its message.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "color_message"}
_SCALARS = frozenset({str, int, float, bool, type(None)})


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
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
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


def setup(level: str, fmt: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
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
