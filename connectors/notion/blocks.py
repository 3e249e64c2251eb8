"""Markdown to Notion block objects, for page bodies written by flows.

Parsed by markdown-it-py (CommonMark), which runs in time linear in the input: the regexes this
replaced took 16-22 s on 64 KB of ``**a `` (issue 15). Supported: ``#``/``##``/``###`` headings
(deeper ones become heading_3), paragraphs, ``-``/``*``/``+`` bullets, ``1.`` numbered items,
``- [ ]``/``- [x]`` to-dos, ``>`` quotes, fenced code blocks, ``---`` dividers; inline
``**bold**``, ``*italic*``/``_italic_``, `` `code` `` and ``[text](url)``. Lists are flat:
nested items follow their parent in document order. A link whose URL is not http(s) keeps its
text and drops the link, since Notion rejects relative links.

Where this differs from plain CommonMark, it keeps the contract flows were written against:
no setext headings (a ``---`` under text is a divider), no indented code blocks (indentation
is ignored), and a ``>`` quote ends at the first line without ``>``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

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

# Texts up to this size convert in a few milliseconds: callers on an event loop convert longer
# ones in a worker process (connectors/offload.py).
INLINE_MARKDOWN_CHARS = 16_384
_MD = MarkdownIt("commonmark", {"html": False}).disable(["lheading", "code"])
_QUOTE_LINE = re.compile(r"[ \t]*>")
_QUOTE_PREFIX = re.compile(r"[ \t]*>[ \t]?")
_FENCE_LINE = re.compile(r" {0,3}(?:`{3,}|~{3,})")
_TODO = re.compile(r"\[([ xX])\](?:[ \t]+|$)")
_Run = tuple[str, frozenset[str], "str | None"]  # text, annotations, link
_MARKS = {"strong": "bold", "em": "italic"}


def _runs(children: list[Token] | None) -> list[_Run]:
    """(text, annotations, link) runs of one inline token's children, in order."""
    runs: list[_Run] = []
    marks: list[str] = []
    links: list[str | None] = [None]
    for child in children or ():
        kind = child.type
        if kind in ("text", "text_special", "html_inline"):
            runs.append((child.content, frozenset(marks), links[-1]))
        elif kind in ("softbreak", "hardbreak"):
            runs.append(("\n", frozenset(marks), links[-1]))
        elif kind == "code_inline":
            runs.append((child.content, frozenset([*marks, "code"]), links[-1]))
        elif kind == "image":  # Notion text cannot hold an image: its alt text stays
            runs.append((child.content, frozenset(marks), links[-1]))
        elif kind.endswith("_open") and kind[:-5] in _MARKS:
            marks.append(_MARKS[kind[:-5]])
        elif kind.endswith("_close") and kind[:-6] in _MARKS and marks:
            marks.pop()
        elif kind == "link_open":
            links.append(http_url(str(child.attrs.get("href", ""))) or links[-1])
        elif kind == "link_close" and len(links) > 1:
            links.pop()
    return runs


def _drop_prefix(runs: list[_Run], size: int) -> list[_Run]:
    """``runs`` without their first ``size`` characters (a to-do's ``[ ]``)."""
    out: list[_Run] = []
    for text, marks, link in runs:
        cut = min(size, len(text))
        size -= cut
        if text[cut:]:
            out.append((text[cut:], marks, link))
    return out


def _objects(runs: list[_Run]) -> list[dict[str, Any]]:
    """Rich text objects for one block's runs: neighbours with the same marks and link are
    merged, then cut into objects of at most 2,000 characters, with no limit on how many
    (``_blocks`` spreads them over several blocks)."""
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


def _blocks(kind: str, runs: list[_Run], **extra: Any) -> list[dict[str, Any]]:
    """One block of ``kind``, or several when the text needs more than 100 rich text objects."""
    objects = _objects(runs)
    groups = [objects[i : i + MAX_ITEMS] for i in range(0, len(objects), MAX_ITEMS)] or [[]]
    return [
        {"object": "block", "type": kind, kind: {"rich_text": group, **extra}} for group in groups
    ]


def _code_language(info: str) -> str:
    tag = (info.split() or [""])[0].lower()
    tag = _ALIASES.get(tag, tag)
    return tag if tag in _LANGUAGES else "plain text"


def _end_quotes_at_unquoted_lines(lines: list[str]) -> list[str]:
    """A blank line after a quote's last ``>`` line, outside code fences, so that the next
    line starts a paragraph of its own (CommonMark would continue the quote with it)."""
    out: list[str] = []
    in_fence = quoted = False
    for line in lines:
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            is_quote = _QUOTE_LINE.match(line) is not None
            if quoted and not is_quote and line.strip():
                out.append("")
            quoted = is_quote
        out.append(line)
    return out


def _quote(lines: list[str], start: int, end: int) -> list[_Run]:
    """A quote's text, as before CommonMark: its lines without ``>``, inline-parsed as one."""
    text = "\n".join(_QUOTE_PREFIX.sub("", line, count=1) for line in lines[start:end])
    runs: list[_Run] = []
    for token in _MD.parseInline(text.strip("\n")):
        runs.extend(_runs(token.children))
    return runs


def markdown_to_blocks(text: str) -> list[dict[str, Any]]:
    """Convert markdown into Notion block objects, in document order.

    A paragraph's lines stay one paragraph (joined with newlines), consecutive ``>`` lines one
    quote. Text too long for one block's 100 rich text objects continues in a second block of
    the same type. Linear in ``len(text)``, but 1 MiB of dense markup is seconds of CPU
    (docs/performance.md), so callers on an event loop convert long texts in a worker process
    (``NotionConnector.write_content``).
    """
    lines = _end_quotes_at_unquoted_lines(
        text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    blocks: list[dict[str, Any]] = []
    lists: list[str] = []  # the block type of each open list, innermost last
    heading: str | None = None
    item_open = False  # inside a list item whose first paragraph is not written yet
    quote_depth = 0
    for token in _MD.parse("\n".join(lines)):
        kind = token.type
        if kind == "blockquote_open":
            item_open = False
            if quote_depth == 0 and token.map is not None:
                blocks.extend(_blocks("quote", _quote(lines, *token.map)))
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif quote_depth:
            continue
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists.append("bulleted_list_item" if kind[0] == "b" else "numbered_list_item")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_open = True
        elif kind == "list_item_close" and item_open:  # an item with no text at all
            blocks.extend(_blocks(lists[-1], []))
            item_open = False
        elif kind == "heading_open":
            item_open = False
            heading = f"heading_{min(int(token.tag[1:]), 3)}"
        elif kind == "hr":
            item_open = False
            blocks.append({"object": "block", "type": "divider", "divider": {}})
        elif kind == "fence":
            item_open = False
            code = token.content.removesuffix("\n")
            blocks.extend(_blocks("code", [(code, frozenset(), None)],
                                  language=_code_language(token.info)))
        elif kind == "inline":
            runs = _runs(token.children)
            if heading is not None:
                blocks.extend(_blocks(heading, runs))
                heading = None
            elif item_open:
                item_open = False
                todo = _TODO.match(token.content)
                if todo is not None:
                    blocks.extend(_blocks("to_do", _drop_prefix(runs, todo.end()),
                                          checked=todo[1] != " "))
                else:
                    blocks.extend(_blocks(lists[-1], runs))
            else:
                blocks.extend(_blocks("paragraph", runs))
    return blocks


# Notion refuses a request body over 500 KB (developers.notion.com/reference/request-limits);
# a batch stays well under it, leaving room for the JSON around the children.
BATCH_BYTES = 400_000


def batches(blocks: Iterable[dict[str, Any]], size: int = 100, *,
            max_bytes: int = BATCH_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Yield the blocks in lists of at most ``size`` (Notion appends 100 children per call)
    and at most ``max_bytes`` of JSON (a single larger block goes alone)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    batch: list[dict[str, Any]] = []
    weight = 0
    for block in blocks:
        cost = len(json.dumps(block, ensure_ascii=False).encode())
        if batch and weight + cost > max_bytes:
            yield batch
            batch, weight = [], 0
        batch.append(block)
        weight += cost
        if len(batch) == size:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch
