"""Which addresses ``http.request`` may call (issue 15).

Link-local addresses (``169.254.0.0/16``, ``fe80::/10``: cloud metadata services live there)
are never called. Loopback, private and other non-global addresses (the hub's own machine,
the office network) only with ``PASSERELLE_HTTP_ALLOW_PRIVATE=true``. The check runs on every
address a name resolves to, at connection time (a resolver wrapped around aiohttp's), so a
name that resolves differently on the second lookup cannot slip through, and on every
redirect hop (``connector.py`` follows redirects itself).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from connectors.base import PermanentError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` (an IP literal) may not be called, or None when it may."""
    try:
        ip: Address = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None  # a name: the resolver checks what it resolves to
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return f"{ip} is a link-local address (cloud metadata lives there): never called"
    if not ip.is_global and not allow_private:
        return (f"{ip} is a loopback or private address: set "
                f"PASSERELLE_HTTP_ALLOW_PRIVATE=true to allow such calls")
    return None


def check_host(host: str | None, *, allow_private: bool) -> None:
    """Raise PermanentError when the URL's host is an address that may not be called."""
    problem = refusal(host or "", allow_private=allow_private)
    if problem is not None:
        raise PermanentError(f"http.request: {problem}")


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve to addresses ``refusal`` forbids."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            problem = refusal(str(result["host"]), allow_private=self._allow_private)
            if problem is not None:
                # An OSError is what aiohttp expects from a resolver; the connector maps it.
                raise RefusedAddress(f"{host} resolves to {problem}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class RefusedAddress(OSError):
    """A resolved address that http.request may not call."""

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(message)
        self.message = message
