"""The fenced ```sh blocks of README.md and docs/*.md, as the docs test executes them.

A block whose first line is ``# not executed: <reason>`` is one a test cannot run (it needs a
real workspace, Docker, minutes of benchmarks); the reason is required. Every other block is
run by ``test_docs.py``, in page order, against a hub that the test serves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = "# not executed:"
DOC_URL = "http://127.0.0.1:8000"  # where the docs say the hub listens (`make run`)
_FENCE = re.compile(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    page: str  # path relative to the repository
    line: int  # line of the opening fence
    text: str

    @property
    def skip_reason(self) -> str | None:
        first = self.text.lstrip("\n").split("\n", 1)[0].strip()
        return first[len(SKIP):].strip() if first.startswith(SKIP) else None

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    rel = page.relative_to(ROOT).as_posix()
    return [Block(rel, text.count("\n", 0, m.start()) + 1, m.group(1))
            for m in _FENCE.finditer(text)]


def executable_pages() -> list[str]:
    return [p.relative_to(ROOT).as_posix() for p in pages()
            if any(b.skip_reason is None for b in blocks(p))]
