"""Generic webhook sources: the signature schemes ``POST /hooks/{source}`` verifies.

``scheme_for(name, secret)`` picks a source's scheme from its setting
``PASSERELLE_WEBHOOK_SCHEME_<SOURCE>`` (``name``) or, without one, from its secret.
"""

from __future__ import annotations

from connectors.webhooks.providers import (
    GitHubScheme,
    IntercomScheme,
    LinearScheme,
    ShopifyScheme,
    StripeScheme,
    TypeformScheme,
    ZendeskScheme,
)
from connectors.webhooks.schemes import (
    BasicScheme,
    BearerScheme,
    Delivery,
    GitLabScheme,
    Scheme,
)
from connectors.webhooks.standard import StandardScheme

SCHEMES: dict[str, Scheme] = {
    cls.name: cls()
    for cls in (
        StandardScheme, BearerScheme, BasicScheme, GitHubScheme, GitLabScheme, LinearScheme,
        TypeformScheme, StripeScheme, ShopifyScheme, IntercomScheme, ZendeskScheme,
    )
}


class UnknownScheme(ValueError):
    """A ``PASSERELLE_WEBHOOK_SCHEME_<SOURCE>`` value that names no scheme."""


def scheme_for(name: str | None, secret: str) -> Scheme:
    """The scheme named ``name`` (case-insensitive), or the default for ``secret``:
    Standard Webhooks for a ``whsec_`` secret, a bearer token otherwise."""
    if name is None or not name.strip():
        return SCHEMES["standard" if secret.startswith("whsec_") else "bearer"]
    try:
        return SCHEMES[name.strip().lower()]
    except KeyError:
        raise UnknownScheme(f"unknown webhook scheme '{name}' (known: "
                            f"{', '.join(sorted(SCHEMES))})") from None


__all__ = ["SCHEMES", "Delivery", "Scheme", "UnknownScheme", "scheme_for"]
