"""Simple markdown to Notion block objects, for page bodies written by flows.

Supported: ``#``/``##``/``###`` headings (deeper ones become heading_3), paragraphs, ``-``/``*``
bullets, ``1.`` numbered items, ``- [ ]``/``- [x]`` to-dos, ``>`` quotes, fenced code blocks,
``---`` dividers; inline ``**bold**``, ``*italic*``/``_italic_``, `` `code` `` and
``[text](url)``. Lists are flat (indentation is ignored). A link whose URL is not http(s) keeps
its text and drops the link, since Notion rejects relative links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from connectors.notion.properties import MAX_ITEMS, http_url, split_text, text_object

_LANGUAGES = frozenset(
    "abap abc agda arduino assembly bash basic bnf c c# c++ clojure coffeescript coq css dart "
    "dhall diff docker ebnf elixir elm erlang f# flow fortran gherkin glsl go graphql groovy "
    "haskell hcl html idris java javascript json julia kotlin latex less lisp livescript lua "
    "makefile markdown markup matlab mathematica mermaid nix objective-c ocaml pascal perl php "
    "powershell prolog protobuf purescript python r racket reason ruby rust sass scala scheme "
    "scss shell smalltalk solidity sql swift toml typescript vb.net verilog vhdl webassembly xml "
    "yaml java/c/c++/c#".split()
) | {"ascii art", "llvm ir", "notion formula", "plain text", "visual basic"}
_ALIASES = {
    "py": "python",
    "js": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "sh": "shell",
    "zsh": "shell",
    "console": "shell",
    "yml": "yaml",
    "rb": "ruby",
    "rs": "rust",
    "golang": "go",
    "cs": "c#",
    "csharp": "c#",
    "cpp": "c++",
    "kt": "kotlin",
    "md": "markdown",
    "dockerfile": "docker",
    "ps1": "powershell",
    "objc": "objective-c",
    "tf": "hcl",
    "text": "plain text",
    "txt": "plain text",
    "plaintext": "plain text",
}

_FENCE = re.compile(r"\s*```\s*([^`\s]*)[^`]*")
_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*")
_DIVIDER = re.compile(r"\s*(?:-{3,}|\*{3,}|_{3,})\s*")
_TODO = re.compile(r"\s*[-*+]\s+\[([ xX])\](?:\s+(.*))?")
_BULLET = re.compile(r"\s*[-*+]\s+(.*)")
_NUMBERED = re.compile(r"\s*\d+[.)]\s+(.*)")
_QUOTE = re.compile(r"\s*>\s?(.*)")
_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^()\s]+)\)"
    r"|\*\*(?P<bold>(?!\s).+?)(?<!\s)\*\*(?!\*)"
    r"|\*(?P<star>(?!\s)(?:[^*]|\*\*[^*]+\*\*)+?)(?<!\s)\*"
    r"|(?<!\w)_(?P<under>(?!\s)[^_]+?)(?<!\s)_(?!\w)"
)
_Run = tuple[str, frozenset[str], "str | None"]  # text, annotations, link


def _spans(text: str, marks: frozenset[str], link: str | None) -> list[_Run]:
    """Cut inline markdown into (text, annotations, link) runs, recursing into nested marks."""
    runs: list[_Run] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            runs.append((text[position : match.start()], marks, link))
        kind = match.lastgroup
        if kind == "code":
            runs.append((match["code"], marks | {"code"}, link))
        elif kind == "url":
            runs.extend(_spans(match["label"], marks, http_url(match["url"]) or link))
        elif kind == "bold":
            runs.extend(_spans(match["bold"], marks | {"bold"}, link))
        else:
            runs.extend(_spans(match[kind or ""], marks | {"italic"}, link))
        position = match.end()
    if position < len(text):
        runs.append((text[position:], marks, link))
    return runs


def inline(text: str, *, parse: bool = True) -> list[dict[str, Any]]:
    """Rich text objects for one block's text; each at most 2,000 characters, with no limit
    on how many (``_blocks`` spreads long text over several blocks)."""
    runs = _spans(text, frozenset(), None) if parse else [(text, frozenset(), None)]
    merged: list[_Run] = []
    for run in runs:
        if merged and merged[-1][1:] == run[1:]:
            merged[-1] = (merged[-1][0] + run[0], *run[1:])
        elif run[0]:
            merged.append(run)
    objects = []
    for content, marks, link in merged:
        for piece in split_text(content):
            obj = text_object(piece, link=link)
            if marks:
                obj["annotations"] = dict.fromkeys(sorted(marks), True)
            objects.append(obj)
    return objects


def _blocks(kind: str, text: str, *, parse: bool = True, **extra: Any) -> list[dict[str, Any]]:
    """One block of ``kind``, or several when the text needs more than 100 rich text objects."""
    objects = inline(text, parse=parse)
    groups = [objects[i : i + MAX_ITEMS] for i in range(0, len(objects), MAX_ITEMS)] or [[]]
    return [
        {"object": "block", "type": kind, kind: {"rich_text": group, **extra}} for group in groups
    ]


def _code_language(tag: str) -> str:
    tag = tag.lower()
    tag = _ALIASES.get(tag, tag)
    return tag if tag in _LANGUAGES else "plain text"


def _single_line(line: str) -> list[dict[str, Any]] | None:
    """The block(s) for a heading, divider, to-do or list item line; None for other lines."""
    if (heading := _HEADING.fullmatch(line)) is not None:
        return _blocks(f"heading_{min(len(heading[1]), 3)}", heading[2])
    if _DIVIDER.fullmatch(line):
        return [{"object": "block", "type": "divider", "divider": {}}]
    if (todo := _TODO.fullmatch(line)) is not None:
        return _blocks("to_do", todo[2] or "", checked=todo[1] != " ")
    if (bullet := _BULLET.fullmatch(line)) is not None:
        return _blocks("bulleted_list_item", bullet[1])
    if (numbered := _NUMBERED.fullmatch(line)) is not None:
        return _blocks("numbered_list_item", numbered[1])
    return None


def markdown_to_blocks(text: str) -> list[dict[str, Any]]:
    """Convert simple markdown into Notion block objects, in order.

    Consecutive text lines make one paragraph (joined with newlines), consecutive ``>`` lines
    one quote. Text too long for one block's 100 rich text objects continues in a second block
    of the same type.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[dict[str, Any]] = []
    paragraph: list[str] = []
    quote: list[str] = []

    def flush(kind: str, buffer: list[str]) -> None:
        if buffer:
            blocks.extend(_blocks(kind, "\n".join(buffer)))
            buffer.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if (quoted := _QUOTE.fullmatch(line)) is not None:
            flush("paragraph", paragraph)
            quote.append(quoted[1])
            continue
        flush("quote", quote)
        if (fence := _FENCE.fullmatch(line)) is not None:
            flush("paragraph", paragraph)
            end = next(
                (i for i in range(index, len(lines)) if lines[i].strip() == "```"), len(lines)
            )
            code = "\n".join(lines[index:end])
            blocks.extend(_blocks("code", code, parse=False, language=_code_language(fence[1])))
            index = end + 1
        elif not line.strip():
            flush("paragraph", paragraph)
        elif (single := _single_line(line)) is not None:
            flush("paragraph", paragraph)
            blocks.extend(single)
        else:
            paragraph.append(line.strip())
    flush("paragraph", paragraph)
    flush("quote", quote)
    return blocks


def batches(blocks: Iterable[dict[str, Any]], size: int = 100) -> Iterator[list[dict[str, Any]]]:
    """Yield the blocks in lists of at most ``size`` (Notion appends 100 children per call)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    batch: list[dict[str, Any]] = []
    for block in blocks:
        batch.append(block)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
