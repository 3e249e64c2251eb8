"""Markdown to Notion blocks (connectors.notion.blocks)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.notion.blocks import batches, markdown_to_blocks


def t(content: str, *marks: str, link: str | None = None) -> dict[str, Any]:
    """A rich text object as markdown_to_blocks writes it."""
    obj: dict[str, Any] = {"type": "text", "text": {"content": content}}
    if link:
        obj["text"]["link"] = {"url": link}
    if marks:
        obj["annotations"] = dict.fromkeys(sorted(marks), True)
    return obj


def block(kind: str, *rich: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"object": "block", "type": kind, kind: {"rich_text": list(rich), **extra}}


def one(markdown: str) -> dict[str, Any]:
    blocks = markdown_to_blocks(markdown)
    assert len(blocks) == 1, blocks
    return blocks[0]


def spans(markdown: str) -> list[dict[str, Any]]:
    paragraph = one(markdown)
    assert paragraph["type"] == "paragraph"
    rich: list[dict[str, Any]] = paragraph["paragraph"]["rich_text"]
    return rich


# --- block constructs ---------------------------------------------------------------------


def test_paragraph_has_notions_exact_shape() -> None:
    assert markdown_to_blocks("Hello") == [
        {
            "object": "block",
            "type": "paragraph",
            "paragraph": {"rich_text": [{"type": "text", "text": {"content": "Hello"}}]},
        }
    ]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("# One", block("heading_1", t("One"))),
        ("## Two", block("heading_2", t("Two"))),
        ("### Three", block("heading_3", t("Three"))),
        ("#### Four", block("heading_3", t("Four"))),
        ("- item", block("bulleted_list_item", t("item"))),
        ("* item", block("bulleted_list_item", t("item"))),
        ("  - indented", block("bulleted_list_item", t("indented"))),
        ("1. first", block("numbered_list_item", t("first"))),
        ("12) twelfth", block("numbered_list_item", t("twelfth"))),
        ("- [ ] open", block("to_do", t("open"), checked=False)),
        ("- [x] closed", block("to_do", t("closed"), checked=True)),
        ("* [X] closed", block("to_do", t("closed"), checked=True)),
        ("- [ ]", block("to_do", checked=False)),
        ("> wise words", block("quote", t("wise words"))),
        ("---", {"object": "block", "type": "divider", "divider": {}}),
        ("***", {"object": "block", "type": "divider", "divider": {}}),
    ],
)
def test_each_construct(markdown: str, expected: dict[str, Any]) -> None:
    assert markdown_to_blocks(markdown) == [expected]


def test_not_constructs_without_their_space() -> None:
    assert one("#hashtag")["type"] == "paragraph"
    assert one("-dash")["type"] == "paragraph"
    assert one("1.5 apples")["type"] == "paragraph"


def test_document_in_order() -> None:
    markdown = "# Plan\n\nFirst line\nsecond line\n\nNext para\n- a\n- b\n> q1\n>\n> q2\nafter\n---"
    assert markdown_to_blocks(markdown) == [
        block("heading_1", t("Plan")),
        block("paragraph", t("First line\nsecond line")),
        block("paragraph", t("Next para")),
        block("bulleted_list_item", t("a")),
        block("bulleted_list_item", t("b")),
        block("quote", t("q1\n\nq2")),
        block("paragraph", t("after")),
        {"object": "block", "type": "divider", "divider": {}},
    ]


def test_windows_line_endings() -> None:
    assert markdown_to_blocks("a\r\nb\r\n\r\n- c") == [
        block("paragraph", t("a\nb")),
        block("bulleted_list_item", t("c")),
    ]


def test_empty_markdown_gives_no_blocks() -> None:
    assert markdown_to_blocks("") == []
    assert markdown_to_blocks("\n  \n\n") == []


# --- code blocks --------------------------------------------------------------------------


def test_fenced_code_keeps_text_verbatim() -> None:
    markdown = "before\n```python\ndef f():\n    return **x**  # `not code`\n\n```\nafter"
    assert markdown_to_blocks(markdown) == [
        block("paragraph", t("before")),
        block("code", t("def f():\n    return **x**  # `not code`\n"), language="python"),
        block("paragraph", t("after")),
    ]


@pytest.mark.parametrize(
    ("tag", "language"),
    [("python", "python"), ("py", "python"), ("TS", "typescript"), ("c++", "c++"),
     ("yml", "yaml"), ("sh", "shell"), ("", "plain text"), ("brainfuck", "plain text"),
     ("text", "plain text"), (" json  ", "json")],
)  # fmt: skip
def test_code_language_uses_notions_names(tag: str, language: str) -> None:
    assert one(f"```{tag}\nx\n```")["code"]["language"] == language


def test_unterminated_fence_runs_to_the_end() -> None:
    assert markdown_to_blocks("```\n# not a heading\n- nor a bullet") == [
        block("code", t("# not a heading\n- nor a bullet"), language="plain text")
    ]


def test_empty_code_block() -> None:
    assert markdown_to_blocks("```js\n```") == [block("code", language="javascript")]


# --- inline formatting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("a **b** c", [t("a "), t("b", "bold"), t(" c")]),
        ("a *b* c", [t("a "), t("b", "italic"), t(" c")]),
        ("a _b_ c", [t("a "), t("b", "italic"), t(" c")]),
        ("run `x = 1` now", [t("run "), t("x = 1", "code"), t(" now")]),
        ("see [docs](https://x.io/d)", [t("see "), t("docs", link="https://x.io/d")]),
        ("**bold _both_**", [t("bold ", "bold"), t("both", "bold", "italic")]),
        ("*it **both** it*", [t("it ", "italic"), t("both", "bold", "italic"), t(" it", "italic")]),
        ("***both***", [t("both", "bold", "italic")]),
        ("**[x](https://a.b)**", [t("x", "bold", link="https://a.b")]),
        (
            "[**x** y](https://a.b)",
            [t("x", "bold", link="https://a.b"), t(" y", link="https://a.b")],
        ),
        ("`**not bold**`", [t("**not bold**", "code")]),
        ("snake_case_name stays", [t("snake_case_name stays")]),
        ("2 * 3 * 4", [t("2 * 3 * 4")]),
        ("a ** b", [t("a ** b")]),
        ("[relative](docs/x.md) link", [t("relative link")]),
    ],
)
def test_inline_formatting(markdown: str, expected: list[dict[str, Any]]) -> None:
    assert spans(markdown) == expected


def test_inline_formatting_in_headings_lists_and_quotes() -> None:
    assert markdown_to_blocks("## A **b**\n- [x] `c`\n> *d*") == [
        block("heading_2", t("A "), t("b", "bold")),
        block("to_do", t("c", "code"), checked=True),
        block("quote", t("d", "italic")),
    ]


# --- limits -------------------------------------------------------------------------------


def test_long_text_is_split_into_2000_character_objects_keeping_annotations() -> None:
    rich = spans("**" + "b" * 4500 + "**")
    assert [len(o["text"]["content"]) for o in rich] == [2000, 2000, 500]
    assert all(o["annotations"] == {"bold": True} for o in rich)


def test_text_needing_more_than_100_objects_continues_in_another_block() -> None:
    blocks = markdown_to_blocks("x" * 250_000)
    assert [b["type"] for b in blocks] == ["paragraph", "paragraph"]
    sizes = [len(b["paragraph"]["rich_text"]) for b in blocks]
    assert sizes == [100, 25]
    joined = "".join(o["text"]["content"] for b in blocks for o in b["paragraph"]["rich_text"])
    assert joined == "x" * 250_000


def test_long_code_block_splits_the_same_way() -> None:
    blocks = markdown_to_blocks("```go\n" + "y" * 201_000 + "\n```")
    assert [(b["type"], b["code"]["language"], len(b["code"]["rich_text"])) for b in blocks] == [
        ("code", "go", 100),
        ("code", "go", 1),
    ]


words = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=40))
def test_plain_words_come_back_as_one_paragraph(parts: list[str]) -> None:
    line = " ".join(parts)
    assert markdown_to_blocks(line) == [block("paragraph", t(line))]


# --- batches ------------------------------------------------------------------------------


def test_batches_of_100() -> None:
    blocks = [block("paragraph", t(str(i))) for i in range(250)]
    result = list(batches(blocks))
    assert [len(b) for b in result] == [100, 100, 50]
    assert [b for batch in result for b in batch] == blocks


def test_batches_custom_size_empty_and_exact() -> None:
    assert list(batches([], size=3)) == []
    assert [len(b) for b in batches(iter(range(6)), size=3)] == [3, 3]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        list(batches([], size=0))
