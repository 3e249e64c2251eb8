"""Content types the receivers take: exact, with parameters, any case, ``+json`` for JSON."""

from __future__ import annotations

import pytest

from app.errors import UnsupportedMediaType
from app.receivers.common import require_content_type

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(("given", "allowed"), [
    ("application/json", ("application/json",)),
    ("Application/JSON; charset=utf-8", ("application/json",)),
    ("application/vnd.api+json", ("application/json",)),
    (f"{FORM}; charset=utf-8", (FORM,)),
    (FORM, ("application/json", FORM)),
])
def test_accepted(given: str, allowed: tuple[str, ...]) -> None:
    require_content_type({"content-type": given}, *allowed)


@pytest.mark.parametrize(("headers", "allowed", "said"), [
    ({"content-type": "text/plain"}, ("application/json",), "got text/plain"),
    ({}, ("application/json",), "got none"),
    ({"content-type": "application/vnd.api+json"}, (FORM,), "must be " + FORM),
    ({"content-type": "application/json"}, (FORM,), "got application/json"),
])
def test_refused_with_what_was_expected(headers: dict[str, str], allowed: tuple[str, ...],
                                        said: str) -> None:
    with pytest.raises(UnsupportedMediaType, match=said.replace("+", r"\+")):
        require_content_type(headers, *allowed)
