"""The schemes against the providers' own published examples, where they publish one."""

from __future__ import annotations

import pytest

from app.errors import Unauthorized
from connectors.webhooks import SCHEMES, UnknownScheme, scheme_for


def test_github_documented_example() -> None:
    # The test values of https://docs.github.com/en/webhooks/using-webhooks/
    # validating-webhook-deliveries#testing-the-webhook-payload-validation
    github = SCHEMES["github"]
    headers = {"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c"
                                      "46f4379c8b043e17"}
    github.verify("It's a Secret to Everybody", headers, b"Hello, World!", now=0)
    with pytest.raises(Unauthorized):
        github.verify("It's a Secret to Everybody", headers, b"Hello, World?", now=0)
    with pytest.raises(Unauthorized):
        github.verify("It's a secret to everybody", headers, b"Hello, World!", now=0)


@pytest.mark.parametrize("header", ["", "sha1=757107ea", "sha256=zz", "sha256="])
def test_github_malformed_headers_are_401_not_500(header: str) -> None:
    with pytest.raises(Unauthorized):
        SCHEMES["github"].verify("k", {"x-hub-signature-256": header}, b"{}", now=0)


@pytest.mark.parametrize("header", ["t=1,v1=", "v1=ab", "t=x,v1=ab", "t=1,t=2,v1=ab", "garbage"])
def test_stripe_malformed_headers_are_401(header: str) -> None:
    with pytest.raises(Unauthorized):
        SCHEMES["stripe"].verify("whsec_x", {"stripe-signature": header}, b"{}", now=1)


def test_defaults_and_unknown_names() -> None:
    assert scheme_for(None, "whsec_abc").name == "standard"
    assert scheme_for("", "plain").name == "bearer"
    assert scheme_for(" GitHub ", "plain").name == "github"
    with pytest.raises(UnknownScheme, match="known: basic, bearer"):
        scheme_for("githb", "plain")


def test_basic_scheme() -> None:
    import base64

    basic = SCHEMES["basic"]
    good = "Basic " + base64.b64encode(b"hub:pa55").decode()
    basic.verify("hub:pa55", {"authorization": good}, b"{}", now=0)
    for bad in ("Basic " + base64.b64encode(b"hub:nope").decode(), "Basic !!!", "Bearer hub:pa55"):
        with pytest.raises(Unauthorized):
            basic.verify("hub:pa55", {"authorization": bad}, b"{}", now=0)


def test_linear_checks_the_body_timestamp() -> None:
    linear = SCHEMES["linear"]
    linear.identify({}, {"webhookTimestamp": 1_000_000}, now=1_000.0 + 30)
    for data in ({"webhookTimestamp": 1_000_000}, {}, {"webhookTimestamp": "1000000"}):
        with pytest.raises(Unauthorized):
            linear.identify({}, data, now=1_000.0 + 120)
